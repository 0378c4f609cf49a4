"""A multirun's bookkeeping: at its start its jobs join the sweep folder's plan; at its end, how many
of them finished, which failed or are missing."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from mmagan.runs.sweep_jobs import FAILED, FINISHED, job_status, planned_jobs, read_failure, record_plan

log = logging.getLogger("mmagan")


class SweepSummary(Callback):
    """Records the plan; logs the sweep's state and exits with status 1 when a job failed, after all
    jobs ran."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        record_plan(config, Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = planned_jobs(config, sweep_dir)
        status = {job: job_status(sweep_dir / job) for job in jobs}
        counts = Counter(status.values())
        log.info(
            "sweep %s: %d jobs, %s",
            sweep_dir,
            len(jobs),
            ", ".join(f"{n} {state}" for state, n in sorted(counts.items())),
        )
        for job, state in status.items():
            if state != FINISHED:
                error = read_failure(sweep_dir / job).get("error", "") if state == FAILED else ""
                log.warning("  %-10s %s %s", state, job, error)
        if counts[FAILED]:
            log.error("%d of %d jobs failed (failed.json in their folders)", counts[FAILED], len(jobs))
            sys.exit(1)
