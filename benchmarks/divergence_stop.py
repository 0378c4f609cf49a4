"""How soon a diverged run stops: MMA-GAN on the ring with lr_g = lr_d = 1e9 (NaN within the first
iterations), with the loss guard's timed check (trainer.speed.loss_check_seconds) on and off, at
two logging intervals. Prints, per setting, the first bad iteration, the iteration where it was
seen, and the wall time from the first training batch to the error.

    python benchmarks/divergence_stop.py [--threads 1] [--check-seconds 2]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time

import lightning as L

from mmagan.build import build
from mmagan.config import compose
from mmagan.errors import NonFiniteLossError


class FirstBatch(L.Callback):
    def __init__(self):
        self.at = None

    def on_train_batch_start(self, *args):
        if self.at is None:
            self.at = time.perf_counter()


def time_to_stop(log_every: int, check_seconds: float, threads: int) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory() as out:
        cfg = compose(
            "train",
            [
                "model.optimizer.lr_g=1e9",
                "model.optimizer.lr_d=1e9",
                "iterations=5000",
                "trainer.val_check_interval=5000",
                f"trainer.log_every_n_steps={log_every}",
                f"trainer.speed.loss_check_seconds={check_seconds}",
                f"trainer.speed.threads={threads}",
                "logger=none",
                "callbacks.progress_bar.refresh_rate=0",
                "callbacks.checkpoint.every_n_iterations=0",
                "callbacks.sample_snapshots.every_n_iterations=0",
                f"paths.output_dir={out}",
            ],
        )
        run = build(cfg)
        first_batch = FirstBatch()
        run.trainer.callbacks.append(first_batch)
        try:
            run.trainer.fit(run.module, datamodule=run.datamodule)
        except NonFiniteLossError as e:
            seconds = time.perf_counter() - first_batch.at
            first, seen = map(int, re.search(r"iteration (\d+) \(seen at iteration (\d+)\)", str(e)).groups())
            return first, seen, seconds
    raise RuntimeError("the run did not diverge")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--check-seconds", type=float, default=2.0)
    args = p.parse_args()
    print(f"{'log every':>9} {'timed check':>12} {'first bad':>9} {'seen at':>8} {'seconds to stop':>15}")
    for log_every in (50, 1000):
        for check in (0.0, args.check_seconds):
            first, seen, seconds = time_to_stop(log_every, check, args.threads)
            label = "off" if check == 0 else f"{check:g} s"
            print(f"{log_every:>9} {label:>12} {first:>9} {seen:>8} {seconds:>15.2f}")


if __name__ == "__main__":
    main()
