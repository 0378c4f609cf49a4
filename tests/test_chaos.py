"""A sweep killed with SIGKILL at random moments, some rounds with a job's last.ckpt cut to half its
bytes, and started again until it exits 0, ends with every job's figures and weights equal, bit
for bit, to the same sweep run undisturbed. Seeded: a failure reproduces with the same seed."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import TINY, TINY_MLP

from mmagan.runs.sweep_jobs import FINISHED, job_status

SEED = int(os.environ.get("MMAGAN_CHAOS_SEED", "20261203"))
# Three jobs of 60 iterations with a checkpoint every 5: seconds each.
SWEEP = [
    "-m", "+sweep=mmagan_grid", "model.objective.num_heads=2,4,8", "model.objective.lambda_div=0.5",
    "model.objective.tau=0.5", "seed=0", *TINY, *TINY_MLP, "iterations=60", "data.num_samples=600",
    "eval.num_samples=250", "trainer.val_check_interval=20", "callbacks.checkpoint.every_n_iterations=5",
    "model.ema.enabled=true", "model.ema.decay=0.9",
]  # fmt: skip
# Wall time, not results: they may differ between an interrupted run and an undisturbed one.
UNTIMED = ("train_seconds",)


def start(cwd: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("mmagan-train")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [str(exe), *SWEEP], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill reaches every process it started
    )  # fmt: skip


def outcome(cwd: Path) -> dict[str, tuple[dict, dict]]:
    """Per job: metrics.json without wall times, and the final checkpoint's weights."""
    sweep = cwd / "outputs" / "sweeps" / "mmagan_grid"
    jobs = {}
    for job in sorted(p for p in sweep.iterdir() if p.is_dir()):
        metrics = {
            k: v for k, v in json.loads((job / "metrics.json").read_text()).items() if k not in UNTIMED
        }
        state = torch.load(job / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
        jobs[job.name] = (metrics, state)
    return jobs


def checkpoint_writes(cwd: Path) -> set[tuple[str, int]]:
    """(file, modification time) of every checkpoint of the sweep's jobs: one entry per write."""
    found = set()
    for p in (cwd / "outputs" / "sweeps").glob("*/*/checkpoints/*.ckpt"):
        try:
            found.add((str(p), p.stat().st_mtime_ns))
        except FileNotFoundError:  # renamed over between listing and stat
            pass
    return found


def killed_after_writes(proc: subprocess.Popen, cwd: Path, writes: int, delay: float) -> bool:
    """SIGKILL `proc`'s process group once `writes` new checkpoint writes are seen, `delay` seconds
    later; False if it ended first."""
    seen = checkpoint_writes(cwd)
    while len(checkpoint_writes(cwd) - seen) < writes:
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


@pytest.mark.slow
def test_a_sweep_killed_at_random_and_with_cut_checkpoints_ends_as_if_undisturbed(tmp_path):
    rng = random.Random(SEED)
    calm, chaos = tmp_path / "calm", tmp_path / "chaos"
    calm.mkdir(), chaos.mkdir()
    undisturbed = start(calm)
    assert undisturbed.wait(timeout=900) == 0, undisturbed.stderr.read().decode()[-3000:]

    rounds, kills, cuts = 0, 0, 0
    while True:
        rounds += 1
        assert rounds <= 40, f"the sweep did not finish in 40 rounds (seed {SEED})"
        proc = start(chaos)
        # Kills are timed by the sweep's own progress, not the clock (a fresh machine's first
        # start spends seconds compiling bytecode): after 1-6 checkpoint writes of this round and
        # up to half a second more, so each lands mid-sweep on any machine.
        if rounds <= 8 and killed_after_writes(proc, chaos, rng.randint(1, 6), rng.uniform(0, 0.5)):
            kills += 1
            jobs = (chaos / "outputs" / "sweeps" / "mmagan_grid").glob("*/checkpoints/last.ckpt")
            # A finished job writes nothing more: only an unfinished one can be cut mid-write.
            lasts = sorted(p for p in jobs if job_status(p.parents[1]) != FINISHED)
            if lasts and rng.random() < 0.5:  # as if killed while writing it
                victim = rng.choice(lasts)
                victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
                cuts += 1
            continue
        if proc.wait(timeout=900) == 0:
            break
        time.sleep(0.1)
    assert kills > 0, f"no kill landed before the sweep ended (seed {SEED}): lengthen the jobs"

    expected, got = outcome(calm), outcome(chaos)
    assert got.keys() == expected.keys() and len(got) == 3
    for job, (metrics, state) in expected.items():
        assert got[job][0] == metrics, f"{job}: figures differ (seed {SEED}, {rounds} rounds, {cuts} cut)"
        for key, value in state.items():
            assert torch.equal(got[job][1][key], value), f"{job}: {key} differs (seed {SEED})"
