"""The progress bar in generator iterations, the unit every other place counts in."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar


class IterationProgressBar(TQDMProgressBar):
    """Lightning's bar counts batches of the current epoch under "Epoch e"; this one counts
    generator iterations of the whole run (a resumed run starts where it stopped), under
    "iterations", so that the bar, the logs and the checkpoint names agree."""

    def total_iterations(self, trainer: L.Trainer, pl_module: L.LightningModule) -> int | None:
        steps = trainer.max_steps
        return steps // pl_module.steps_per_iteration if steps and steps > 0 else None

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        bar, module = self.train_progress_bar, trainer.lightning_module
        total = self.total_iterations(trainer, module)
        if total is None:  # a run counted in epochs: the epoch is the unit there
            return
        bar.total = total
        bar.initial = 0
        bar.n = module.iteration
        bar.set_description("iterations")
        bar.refresh()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if self.total_iterations(trainer, pl_module) is None:
            return super().on_train_batch_end(trainer, pl_module, *args)
        bar = self.train_progress_bar
        if bar is not None and self._should_update(pl_module.iteration, bar.total):
            bar.n = pl_module.iteration
            bar.set_postfix(self.get_metrics(trainer, pl_module))
            bar.refresh()
        return None
