"""Send a PNG that a callback wrote to every logger that shows images."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from mmagan.plots import load_png, to_chw


def log_image(trainer: L.Trainer, key: str, path: Path, step: int) -> None:
    image = None
    for logger in trainer.loggers:
        if isinstance(logger, (TensorBoardLogger, WandbLogger)) and image is None:
            image = load_png(path)
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, to_chw(image), global_step=step)
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[image], step=step)
