"""The jobs of a sweep on disk: which were planned, which finished, which failed.

A job's folder says what became of it: metrics.json with `finished` 1 (done), failed.json (the
error that stopped it), or neither (interrupted, or still running). A failing job is recorded and
returns, so the launcher goes on with the rest of the sweep.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from mmagan.runs.files import read_json, write_json
from mmagan.runs.job_names import job_dirname
from mmagan.runs.run_folder import CONFIG, RunFolder

log = logging.getLogger("mmagan")

FINISHED, FAILED, INCOMPLETE, MISSING = "finished", "failed", "incomplete", "missing"


def read_metrics(job_dir: Path) -> dict:
    """The job's metrics.json, or {} before it wrote one."""
    return read_json(RunFolder(job_dir).metrics)


def job_status(job_dir: Path) -> str:
    """finished, failed, incomplete (interrupted or running) or missing, from the job's files."""
    job_dir = Path(job_dir)
    if not job_dir.is_dir():
        return MISSING
    if read_metrics(job_dir).get("finished") == 1:
        return FINISHED
    if RunFolder(job_dir).failure.is_file():
        return FAILED
    return INCOMPLETE


def read_failure(job_dir: Path) -> dict:
    """The job's failed.json (error, seconds, traceback), or {}."""
    return read_json(RunFolder(job_dir).failure)


def planned_jobs(multirun_cfg: DictConfig, sweep_dir: Path | None = None) -> list[str]:
    """Folder names of every job a multirun config describes (Hydra's basic sweeper expansion).
    Sweeps it cannot expand alone (glob() over a config group) fall back to the job folders
    present in `sweep_dir`."""
    # Hydra has no public API that expands sweep overrides into jobs; its basic sweeper's own
    # expansion is used so the listing matches what the sweep ran, job for job.
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = OmegaConf.select(multirun_cfg, "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(OmegaConf.select(multirun_cfg, "hydra.overrides.task") or [])
    try:
        overrides = OverridesParser.create().parse_overrides(arguments)
        (jobs,) = BasicSweeper.split_arguments(overrides, None)
    except Exception:  # noqa: BLE001 - only a listing; the folders on disk say the rest
        present = sorted(sweep_dir.glob(f"*/{CONFIG}")) if sweep_dir is not None else []
        return [p.parent.parent.name for p in present]
    return [job_dirname(job) for job in jobs]


# The union of every invocation's jobs into one sweep folder. Hydra's multirun.yaml holds only the
# last invocation's, so a study run a seed at a time would otherwise seem planned a seed at a time.
PLAN = "planned_jobs.txt"


def recorded_plan(sweep_dir: Path) -> list[str]:
    """The jobs in the sweep folder's planned_jobs.txt ([] before any was recorded)."""
    plan = Path(sweep_dir) / PLAN
    return plan.read_text().splitlines() if plan.is_file() else []


def add_to_plan(sweep_dir: Path, jobs: list[str]) -> None:
    """Add jobs to the sweep folder's recorded plan, keeping its order and no job twice."""
    known = recorded_plan(sweep_dir)
    new = [job for job in dict.fromkeys(jobs) if job not in known]
    if new:
        Path(sweep_dir).mkdir(parents=True, exist_ok=True)
        (Path(sweep_dir) / PLAN).write_text("".join(f"{job}\n" for job in [*known, *new]))


def record_plan(multirun_cfg: DictConfig, sweep_dir: Path) -> None:
    """Add this invocation's jobs to the sweep folder's plan (at the start of every multirun)."""
    add_to_plan(sweep_dir, planned_jobs(multirun_cfg, sweep_dir))


def sweep_plan(sweep_dir: Path) -> list[str]:
    """Every job planned into the sweep folder by any invocation: the recorded plan and the jobs of
    the last multirun.yaml."""
    jobs = recorded_plan(sweep_dir)
    multirun = Path(sweep_dir) / "multirun.yaml"
    if multirun.is_file():
        jobs += [job for job in planned_jobs(OmegaConf.load(multirun), sweep_dir) if job not in jobs]
    return jobs


def run_job(cfg: DictConfig, train: Callable[[DictConfig], dict]) -> dict:
    """One job of a multirun: skipped when it finished before, its failure recorded, never raised."""
    job_dir = Path(cfg.paths.output_dir)
    if cfg.rerun.skip_finished and job_status(job_dir) == FINISHED:
        log.info("skipped, finished before: %s", job_dir)
        return {"status": "skipped", **read_metrics(job_dir)}
    RunFolder(job_dir).failure.unlink(missing_ok=True)
    start = time.monotonic()
    try:
        return {"status": FINISHED, **train(cfg)}
    except Exception as e:  # noqa: BLE001 - any failure of one job is recorded, the sweep goes on
        message = f"{type(e).__name__}: {e}"
        write_json(
            RunFolder(job_dir).failure,
            {
                "error": message,
                "seconds": round(time.monotonic() - start, 3),
                "traceback": traceback.format_exc(),
            },
        )
        log.error("job failed: %s (%s); the sweep goes on", message, job_dir)
        return {"status": FAILED, "error": message}
