"""Sweep overhead: wall time of N tiny jobs through each local launcher against the same jobs run one
after another in a plain Python loop (no Hydra multirun), printed side by side.

    python benchmarks/sweep_overhead.py [--jobs 4] [--iterations 20]
    python benchmarks/sweep_overhead.py --per-gpu --jobs 16 --iterations 2000   # on a GPU machine

Jobs are MMA-GAN on the toy ring with small nets, seeds 0..N-1, so the per-job overhead of a
launcher (process start, Ray workers, submitit pickling and polling) is what differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

JOB = [
    "data.num_samples=2000",
    "data.batch_size=50",
    "eval.num_samples=500",
    "eval.batch_size=250",
    "net.g_hidden=[32,32]",
    "net.d_hidden=[32,32]",
    "net.d_maxout_pieces=2",
    "logger=csv",
    "callbacks.progress_bar.refresh_rate=0",
]
LAUNCHERS = {
    "basic (launcher=local)": ["launcher=local"],
    "ray, 1 CPU per job (launcher=ray)": [
        "launcher=ray",
        "hydra.launcher.ray.remote.num_gpus=0",
        f"hydra.launcher.ray.init.num_cpus={os.cpu_count()}",
    ],
    "submitit local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=30"],
}


def in_one_loop(jobs: int, iterations: int, folder: Path) -> float:
    code = f"""
import time
from mmagan.config import compose
from mmagan.train import train
start = time.perf_counter()
for seed in range({jobs}):
    train(compose("train", {JOB!r} + ["seed=%d" % seed, "iterations={iterations}",
                                       "paths.output_dir={folder}/loop/%d" % seed]))
print(time.perf_counter() - start)
"""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=folder)
    return time.perf_counter() - start


def through_launcher(
    jobs: int, iterations: int, folder: Path, extra: list[str], job: list[str] = JOB
) -> float:
    exe = Path(sys.executable).with_name("mmagan-train")
    seeds = ",".join(str(s) for s in range(jobs))
    args = [str(exe), "-m", *job, f"iterations={iterations}", f"seed={seeds}", *extra]
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, cwd=folder)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(extra)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


# DCGAN 32x32 MMA-GAN on the offline stacked digits: CIFAR-10's shapes without a download.
GPU_JOB = [
    "experiment=stacked_digits_veegan",
    "trainer=gpu",
    "logger=csv",
    "callbacks.progress_bar.refresh_rate=0",
]


def jobs_per_gpu(args) -> None:
    """Jobs per hour on one GPU with 1, 2, 4 and 8 jobs sharing it (Ray's fractional num_gpus)."""
    print(f"{args.jobs} DCGAN MMA-GAN jobs of {args.iterations} iterations on one GPU, launcher=ray")
    print("| jobs per GPU | wall s | jobs / hour |")
    print("|---|---|---|")
    for share in (1, 2, 4, 8):
        with tempfile.TemporaryDirectory() as tmp:
            extra = [
                "launcher=ray",
                f"hydra.launcher.ray.remote.num_gpus={1 / share}",
                f"hydra.launcher.ray.remote.num_cpus={max(1, (os.cpu_count() or 2) // share)}",
                *GPU_JOB,
            ]
            t = through_launcher(args.jobs, args.iterations, Path(tmp), extra, job=[])
            print(f"| {share} | {t:.1f} | {args.jobs * 3600 / t:.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--per-gpu", action="store_true", help="jobs per hour at 1, 2, 4, 8 jobs per GPU")
    args = p.parse_args()
    if args.per_gpu:
        jobs_per_gpu(args)
        return
    print(f"{args.jobs} jobs of {args.iterations} iterations, {os.cpu_count()} CPU cores")
    print(f"{'how the jobs run':<38}{'wall s':>9}{'s / job':>9}{'vs loop':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        loop = in_one_loop(args.jobs, args.iterations, Path(tmp))
        print(f"{'one Python loop (process start incl.)':<38}{loop:>9.1f}{loop / args.jobs:>9.2f}{1:>9.2f}")
        for name, extra in LAUNCHERS.items():
            folder = Path(tmp) / name.split()[0]
            folder.mkdir()
            t = through_launcher(args.jobs, args.iterations, folder, extra)
            print(f"{name:<38}{t:>9.1f}{t / args.jobs:>9.2f}{t / loop:>9.2f}")


if __name__ == "__main__":
    main()
