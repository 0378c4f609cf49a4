"""Loggers from the `logger` config group: CSV, TensorBoard and wandb."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger


def wandb_has_credentials() -> bool:
    """An API key in the environment or in ~/.netrc (where `wandb login` writes it)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def build_loggers(cfg: Any, run_dir: Path) -> list[Logger]:
    loggers: list[Logger] = []
    if "csv" in cfg:
        loggers.append(CSVLogger(save_dir=run_dir, name="csv", version=""))
    if "tensorboard" in cfg:
        loggers.append(
            TensorBoardLogger(save_dir=run_dir, name="tensorboard", version="", default_hp_metric=False)
        )
    if "wandb" in cfg:
        w = cfg.wandb
        offline = w.mode == "offline" or (w.mode == "auto" and not wandb_has_credentials())
        loggers.append(
            WandbLogger(
                project=w.project,
                entity=w.entity,
                group=w.group,
                name=w.name or run_dir.name,
                tags=list(w.tags),
                save_dir=str(run_dir),
                offline=offline,
            )
        )
    return loggers
