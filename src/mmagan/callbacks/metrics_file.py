"""metrics.json: the run's figures as a flat name -> number map (plus the "protocol" they were
measured under), always up to date on disk."""

from __future__ import annotations

import time
from pathlib import Path

import lightning as L
import torch

from mmagan.runs.files import finite_or_none, write_json


class MetricsFile(L.Callback):
    """Rewritten after each validation, at the end of training and on any exception, so that a
    crash or Ctrl-C still leaves the figures reached so far. `finished` is 1 only for a run that
    reached its planned length."""

    def __init__(self, path: str | Path, protocol: dict | None = None) -> None:
        self.path = Path(path)
        # What the figures were measured under (samples, LPIPS net, G's resampling and truncation):
        # written beside them as metrics.json's one non-number entry, "protocol".
        self.protocol = protocol or {}
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
        """Write metrics.json now: the last logged value of every metric, the iteration, the
        protocol and `finished`; returns the figures written."""
        self.figures.update(getattr(pl_module, "train_figures", {}))  # logged past Lightning's self.log
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
            payload = finite_or_none(dict(sorted(figures.items())))
            write_json(self.path, {**payload, "protocol": self.protocol} if self.protocol else payload)
        return figures
