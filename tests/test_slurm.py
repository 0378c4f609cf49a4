"""launcher=slurm on a real single-node SLURM cluster (scripts/local_slurm.sh): a sweep with a
failing job, a time limit that requeues a job, and a preemption. Slow by nature: SLURM's shortest
time limit is one minute. SLURM holds a requeued job about two minutes before its begin time; the
tests release that hold as soon as they see it (`released_requeue_holds`), so their wall time does
not grow with the number of requeues a loaded machine needs."""

import csv
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from helpers import skip_unless_required

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SLURM_DIR = Path(os.environ.get("MMAGAN_SLURM_DIR", "/tmp/mmagan-slurm"))
SMALL = ["data.num_samples=2000", "data.batch_size=50", "eval.num_samples=500", "eval.batch_size=250",
         "net.g_hidden=[32,32]", "net.d_hidden=[32,32]", "net.d_maxout_pieces=2"]  # fmt: skip
ON_ONE_CORE = ["launcher=slurm", "hydra.launcher.gpus_per_node=0", "hydra.launcher.cpus_per_task=1",
               "hydra.launcher.mem_gb=1", "logger=csv", "callbacks.progress_bar.refresh_rate=0"]  # fmt: skip


@pytest.fixture(scope="module")
def slurm_env():
    """The environment that reaches the local cluster (never a real one a user may be logged in to)."""
    started = subprocess.run(
        [str(ROOT / "scripts" / "local_slurm.sh"), "start"], capture_output=True, text=True
    )
    if started.returncode != 0:
        skip_unless_required(
            "slurm", f"no SLURM cluster here and local_slurm.sh could not start one: {started.stdout[-300:]}"
        )
    return {**os.environ, "SLURM_CONF": str(SLURM_DIR / "slurm.conf"),
            "PATH": f"{SLURM_DIR / 'bin'}:{os.environ['PATH']}"}  # fmt: skip


TRAIN = str(Path(sys.executable).with_name("mmagan-train"))


def sweep(env, cwd, *args, timeout=900, wait=True):
    cmd = [TRAIN, "-m", *ON_ONE_CORE, *args]
    if not wait:
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@contextmanager
def released_requeue_holds(env):
    """While inside, a requeued job waiting for its begin time is made eligible at once
    (`scontrol update StartTime=now`, which any user may do to a pending job of their own)."""
    done = threading.Event()
    released = []

    def release():
        while not done.wait(1.0):
            pending = subprocess.run(["squeue", "-h", "-t", "PD", "-o", "%i %r"], env=env,
                                     capture_output=True, text=True).stdout.split("\n")  # fmt: skip
            for job_id, reason in (line.split(maxsplit=1) for line in pending if " " in line):
                if reason.strip() == "BeginTime":
                    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], env=env,
                                   capture_output=True)  # fmt: skip
                    released.append(job_id)

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield released
    finally:
        done.set()
        thread.join()


def jobs_of(cwd):
    return sorted(p.parent for p in Path(cwd).glob("outputs/**/.hydra"))


def metrics(job):
    return json.loads((job / "metrics.json").read_text())


def allocations(job):
    """The training iterations each allocation logged, in order: csv/metrics_part<k>.csv for the
    earlier ones (kept by each restart), csv/metrics.csv for the last."""
    parts = sorted(
        (job / "csv").glob("metrics_part*.csv"), key=lambda p: int(p.stem.removeprefix("metrics_part"))
    )
    steps = []
    for path in [*parts, job / "csv" / "metrics.csv"]:
        with path.open() as f:
            steps.append([int(r["step"]) for r in csv.DictReader(f) if r.get("train/loss_d")])
    return steps


def test_a_sweep_runs_one_folder_per_job_and_a_failing_job_is_recorded(slurm_env, tmp_path):
    result = sweep(slurm_env, tmp_path, "sweep_name=small", "seed=0,1", "model.objective.tau=0.5,1.5",
                   "iterations=20", *SMALL)  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]  # the sweep ends by listing the failure
    assert "4 jobs, 2 failed, 2 finished" in out and "Bypassing sacct" not in out
    jobs = jobs_of(tmp_path)
    assert len(jobs) == 4
    for job in jobs:
        if "tau=1.5" in job.name:
            assert (
                "model.objective.tau=1.5 is invalid" in json.loads((job / "failed.json").read_text())["error"]
            )
        else:
            assert metrics(job)["finished"] == 1 and metrics(job)["iteration"] == 20


def iterations_for(seconds, cwd):
    """How many iterations of the small nets one core trains in `seconds` on this machine, measured by
    a short run outside SLURM with one torch thread, as a one-CPU job has (rounded up to 500)."""
    n = 2000
    run = subprocess.run(
        [TRAIN, "seed=0", f"iterations={n}", *SMALL, "logger=csv", "callbacks.progress_bar.refresh_rate=0",
         "trainer.speed.threads=1", f"trainer.val_check_interval={n}", f"hydra.run.dir={cwd}/calibrate"],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    rate = n / json.loads((Path(cwd) / "calibrate" / "metrics.json").read_text())["train_seconds"]
    return 500 * -(-int(rate * seconds) // 500)


def test_a_job_past_its_time_limit_is_requeued_and_resumes_from_last_ckpt(slurm_env, tmp_path):
    """One minute of SLURM time; signalled 20 s before it, the job writes last.ckpt and submitit
    requeues it; the next allocation resumes there and finishes.

    The job is sized to this machine: 60 s of training, measured first, where an allocation is
    signalled 40 s after it starts (and starts training some seconds later), so no allocation can
    finish it alone, and usually a second one does. SLURM's hold on the requeued job is released
    at once, so each allocation costs about its minute.
    """
    iterations = max(2000, iterations_for(60, tmp_path))
    with released_requeue_holds(slurm_env) as released:
        result = sweep(slurm_env, tmp_path, "sweep_name=limit", "seed=0", f"iterations={iterations}",
                       *SMALL, "trainer.val_check_interval=2000",
                       "callbacks.checkpoint.every_n_iterations=500", "hydra.launcher.timeout_min=1",
                       "hydra.launcher.signal_delay_s=20", timeout=1200)  # fmt: skip
    assert released, "no requeued job was seen waiting for its begin time"
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    (job,) = jobs_of(tmp_path)
    assert metrics(job)["finished"] == 1 and metrics(job)["iteration"] == iterations
    runs = allocations(job)
    assert len(runs) >= 2  # requeued at least once
    trained = [steps for steps in runs if steps]  # an allocation signalled in the final evaluation
    # leaves the next one nothing to train
    for before, after in zip(trained, trained[1:]):  # each restart goes on from last.ckpt
        assert min(after) > max(before)
    assert max(trained[-1]) >= iterations - 50
    last = job / "checkpoints" / "last.ckpt"  # the finished state, in last.ckpt and nowhere else
    assert sorted(p.name for p in last.parent.glob("last*")) == ["last.ckpt"]
    # the time-limit signal waits for G's step: the state saved is a whole number of iterations
    assert torch.load(last, weights_only=True)["global_step"] == 2 * iterations


def test_preemption_loses_at_most_one_checkpoint_interval(slurm_env, tmp_path):
    proc = sweep(slurm_env, tmp_path, "sweep_name=preempt", "seed=0", "iterations=1200",
                 "trainer.val_check_interval=1000", "callbacks.checkpoint.every_n_iterations=200",
                 "hydra.launcher.timeout_min=10", wait=False)  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and not list(tmp_path.glob("outputs/**/checkpoints/iter0000400.ckpt")):
        time.sleep(2)
    job_ids = subprocess.run(
        ["squeue", "-h", "-o", "%i"], env=slurm_env, capture_output=True, text=True
    ).stdout.split()
    assert job_ids, "the job is not running"
    with released_requeue_holds(slurm_env):
        subprocess.run(["scontrol", "requeue", job_ids[0]], env=slurm_env, check=True)
        out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    (job,) = jobs_of(tmp_path)
    assert metrics(job)["finished"] == 1 and metrics(job)["iteration"] == 1200
    first, second = allocations(job)[-2:]
    reached, resumed_at = max(first), min(second)
    # preempted once iter0000400.ckpt existed: the restart goes on from a checkpoint at 400 or later,
    # so at most one checkpoint interval (and one log period) of training is done again
    assert resumed_at >= 400 and reached - resumed_at <= 200 + 50, (reached, resumed_at)
