"""mmagan-train: compose the config, build the run, fit, write metrics.json."""

from __future__ import annotations

import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from mmagan.build import build
from mmagan.callbacks.metrics_file import MetricsFile
from mmagan.callbacks.mode_coverage import ModeCoverage
from mmagan.config import config_dir
from mmagan.console import quiet_library_noise
from mmagan.errors import exit_on_user_error
from mmagan.loggers import finish_loggers
from mmagan.runs.output_dir import discard_unused_run_folder, hydra_run_folder
from mmagan.runs.sweep_jobs import run_job

log = logging.getLogger("mmagan")


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, evaluate the final weights if the last validation was earlier, return the final figures."""
    run = build(cfg)
    try:
        run.trainer.fit(run.module, datamodule=run.datamodule, ckpt_path=run.ckpt_path)
        if run.module.last_eval_iteration != run.module.iteration:
            run.trainer.validate(run.module, datamodule=run.datamodule, verbose=False)
        figures = run.callback(MetricsFile).write(run.trainer, run.module, finished=True)
    finally:
        finish_loggers(run.trainer.loggers)
    if run.trainer.is_global_zero:
        log.info("run folder: %s", run.run_dir)
        for name in sorted(k for k in figures if not k.startswith("train/heads/")):
            log.info("  %-24s %g", name, figures[name])
        coverage = run.callback(ModeCoverage)
        if coverage is not None and coverage.last_plot is not None:
            log.info("samples over the true modes: %s", coverage.last_plot)
    return figures


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> dict | None:
    """mmagan-train: one line and exit status 2 on a user error, never a traceback."""
    quiet_library_noise()
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return run_job(cfg, train)  # a failing job is recorded; the sweep goes on
    exit_on_user_error(lambda: train(cfg), on_user_error=discard_empty_run_folder)
    return None


def discard_empty_run_folder() -> None:
    """The run folder this command made, when it holds nothing yet (it stopped on its config)."""
    folder = hydra_run_folder()
    if folder is not None:
        discard_unused_run_folder(folder)


if __name__ == "__main__":
    main()
