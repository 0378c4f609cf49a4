"""Loggers from the `logger` config group: CSV, TensorBoard and wandb."""

from __future__ import annotations

import netrc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger

from mmagan.registry import Registry
from mmagan.runs.run_folder import RunFolder


def wandb_has_credentials() -> bool:
    """An API key in the environment or in ~/.netrc (where `wandb login` writes it)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def sweep_group() -> str | None:
    """In a multirun, the sweep's folder name (the sweep_name for +sweep=<name>): the wandb group."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return Path(HydraConfig.get().sweep.dir).name
    return None


def keep_earlier_csv_log(run_dir: Path) -> None:
    """Lightning's CSV logger deletes an existing csv/metrics.csv; a run resumed in its own folder
    keeps the earlier rows as csv/metrics_part<k>.csv (the report reads them in order)."""
    log_file = RunFolder(run_dir).csv / "metrics.csv"
    if log_file.is_file():
        part = len(list(log_file.parent.glob("metrics_part*.csv")))
        log_file.rename(log_file.with_name(f"metrics_part{part}.csv"))


def _csv(cfg: Any, run_dir: Path) -> Logger:
    keep_earlier_csv_log(run_dir)
    return CSVLogger(save_dir=run_dir, name="csv", version="")


def _tensorboard(cfg: Any, run_dir: Path) -> Logger:
    return TensorBoardLogger(save_dir=run_dir, name="tensorboard", version="", default_hp_metric=False)


def _wandb(cfg: Any, run_dir: Path) -> Logger:
    offline = cfg.mode == "offline" or (cfg.mode == "auto" and not wandb_has_credentials())
    return WandbLogger(
        project=cfg.project,
        entity=cfg.entity,
        group=cfg.group or sweep_group(),
        name=cfg.name or run_dir.name,  # in a sweep: the job's overrides (K=8,lambda=0.5,...)
        tags=list(cfg.tags),
        save_dir=str(run_dir),
        offline=offline,
    )


#: The `logger` group's keys and what each builds from its block and the run folder.
LOGGERS: Registry[Callable[[Any, Path], Logger]] = Registry("logger")
for _key, _build in (("csv", _csv), ("tensorboard", _tensorboard), ("wandb", _wandb)):
    LOGGERS.add(_key, _build)


def build_loggers(cfg: Any, run_dir: Path) -> list[Logger]:
    """One logger per key of the `logger` block, in its order (logger=none: none)."""
    return [LOGGERS[key](block, Path(run_dir)) for key, block in cfg.items()]


def finish_loggers(loggers: list[Logger]) -> None:
    """Close each wandb run: the next job of a sweep in this process starts a run of its own."""
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb

        if wandb.run is not None:
            wandb.finish()
