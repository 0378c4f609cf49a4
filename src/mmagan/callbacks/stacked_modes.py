"""Modes captured (of 1000; of 10 for single digits) and KL to uniform at each validation."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from mmagan.metrics.stacked_modes import stacked_mode_figures, triple_labels


class StackedModeCount(L.Callback):
    """Labels each validation batch as it comes (only the labels are kept) and logs `modes/*`."""

    def __init__(self) -> None:
        self._labels: list[Tensor] = []
        self._channels = 3

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._labels = []

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        classify = trainer.datamodule.evaluation().classify_channels
        self._channels = outputs.shape[1]
        self._labels.append(triple_labels(outputs.detach(), classify))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self._labels:
            return
        labels = torch.cat(self._labels)
        if trainer.world_size > 1:
            labels = pl_module.all_gather(labels).flatten(0, 1)
        figures = stacked_mode_figures(labels, 10**self._channels)
        pl_module.log_dict({f"modes/{k}": v for k, v in figures.items()}, sync_dist=False)
        self._labels = []
