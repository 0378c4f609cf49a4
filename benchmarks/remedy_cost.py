"""What each mode-collapse remedy costs per generator iteration, against DCGAN's, on the ring with
PacGAN's MLP nets (batch 100; or --data grid). Methods alternate in blocks within one run, so that
drifts in the machine's load hit all alike; prints the median ms per iteration and the ratio to
DCGAN.

    python benchmarks/remedy_cost.py [--iterations 60] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import lightning as L

from mmagan.build import build
from mmagan.config import compose

METHODS = {
    "dcgan": ["model=dcgan"],
    "mmagan": ["model=mmagan"],
    "pacgan": ["model=pacgan"],
    "unrolled k=5": ["model=unrolled"],
    "unrolled k=10": ["model=unrolled", "model.objective.unroll_steps=10"],
    "veegan": ["model=veegan"],
    "madgan k=8": ["model=madgan"],
    "dcgan + ms.weight=1": ["model=dcgan", "ms.weight=1"],
    "dcgan + minibatch discrimination": ["model=dcgan", "net.d_minibatch=discrimination"],
    "dcgan + minibatch stddev": ["model=dcgan", "net.d_minibatch=stddev"],
}


class Timer(L.Callback):
    def __init__(self):
        self.times, self.last = [], None

    def on_train_batch_end(self, *args):
        now = time.perf_counter()
        if self.last is not None:
            self.times.append(now - self.last)
        self.last = now


def ms_per_iteration(overrides: list[str], iterations: int, threads: int, data: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        cfg = compose(
            "train",
            [
                f"experiment={data}_pacgan",
                *overrides,
                f"iterations={iterations}",
                "trainer.val_check_interval=100000",
            ]
            + [
                "logger=none",
                "callbacks.progress_bar.refresh_rate=0",
                "callbacks.checkpoint.every_n_iterations=0",
            ]
            + ["callbacks.sample_snapshots.every_n_iterations=0", f"trainer.speed.threads={threads}"]
            + ["trainer.max_epochs=null", f"paths.output_dir={out}"],
        )
        run = build(cfg)
        timer = Timer()
        run.trainer.callbacks.append(timer)
        run.trainer.fit(run.module, datamodule=run.datamodule)
        return 1000 * statistics.median(timer.times[5:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=60)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", choices=("ring", "grid"), default="ring")
    args = p.parse_args()
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(args.repeats):
        for method, overrides in METHODS.items():
            times[method].append(ms_per_iteration(overrides, args.iterations, args.threads, args.data))
    base = statistics.median(times["dcgan"])
    print(f"{'method':<34} {'ms / iteration':>14} {'x DCGAN':>8}")
    for method, values in times.items():
        ms = statistics.median(values)
        print(f"{method:<34} {ms:>14.1f} {ms / base:>8.2f}")


if __name__ == "__main__":
    main()
