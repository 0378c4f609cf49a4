"""metrics.json: the run's figures as a flat name -> number map, always up to date on disk."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import lightning as L
import torch


class MetricsFile(L.Callback):
    """Rewritten after each validation, at the end of training and on any exception, so that a
    crash or Ctrl-C still leaves the figures reached so far. `finished` is 1 only for a run that
    reached its planned length."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._start = time.monotonic()
        # Merged across writes: a later trainer.validate() replaces callback_metrics with
        # validation figures only, and the training losses must stay in the file.
        self.figures: dict[str, float] = {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.monotonic()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.write(trainer, pl_module, finished=False)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.write(trainer, pl_module, finished=False)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self.write(trainer, pl_module, finished=False)

    def write(self, trainer: L.Trainer, pl_module: L.LightningModule, finished: bool) -> dict[str, float]:
        self.figures.update(
            (name, float(value.item() if isinstance(value, torch.Tensor) else value))
            for name, value in trainer.callback_metrics.items()
            if not isinstance(value, torch.Tensor) or value.numel() == 1
        )
        self.figures.update(
            iteration=float(pl_module.iteration),
            train_seconds=round(time.monotonic() - self._start, 3),
            finished=float(finished),
        )
        figures = dict(self.figures)
        if trainer.is_global_zero:
            write_json(self.path, {k: (v if math.isfinite(v) else None) for k, v in sorted(figures.items())})
        return figures


def write_json(path: Path, data: dict) -> None:
    """Write through a temporary file and rename: never a half-written file. NaN and inf must be
    given as None (null): strict JSON readers and dashboards reject them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def merge_into_metrics(path: Path, figures: dict[str, float]) -> dict:
    """Add `figures` to an existing metrics.json (keeping what training wrote)."""
    merged = json.loads(path.read_text()) if path.is_file() else {}
    merged.update({k: (v if math.isfinite(v) else None) for k, v in figures.items()})
    write_json(path, dict(sorted(merged.items())))
    return merged
