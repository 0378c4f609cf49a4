"""Modes captured, % high quality and reverse KL at each validation, on data with known modes."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch import Tensor

from mmagan.callbacks.logged_images import log_image
from mmagan.metrics.mode_coverage import mode_coverage
from mmagan.plots import save_scatter


class ModeCoverage(L.Callback):
    """Reads the samples G produced in validation; logs `modes/*` and saves the scatter plot."""

    def __init__(self, plot_dir: str | Path, threshold: float = 3.0) -> None:
        self.plot_dir = Path(plot_dir)
        self.threshold = threshold
        self._samples: list[Tensor] = []
        self.last_plot: Path | None = None

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._samples = []

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self._samples.append(outputs.detach())

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self._samples:
            return
        samples = torch.cat(self._samples)
        if trainer.world_size > 1:
            samples = pl_module.all_gather(samples).flatten(0, 1)
        mixture = trainer.datamodule.evaluation().mixture
        figures = mode_coverage(samples, mixture.modes, mixture.std, self.threshold)
        pl_module.log_dict({f"modes/{k}": v for k, v in figures.items()}, sync_dist=False)
        if trainer.is_global_zero:
            it = pl_module.iteration
            title = f"iteration {it}: {figures['modes']:.0f} modes, {figures['high_quality_pct']:.1f}% HQ"
            self.last_plot = save_scatter(
                samples, self.plot_dir / f"modes_iter{it:07d}.png", mixture.modes, title
            )
            log_image(trainer, "samples/modes", self.last_plot, it)
        self._samples = []
