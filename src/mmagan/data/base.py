"""What every mmagan DataModule shares: the real-data loader and the evaluation latents."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset


class GANDataModule(L.LightningDataModule):
    """Real samples for training; for validation, the indices of fixed evaluation latents.

    Validation is where G is sampled for metrics: each validation batch holds indices into the
    model's fixed evaluation latents, so every metric callback sees the same samples and, under
    DDP, each rank generates its share.
    """

    #: Shape of one real sample: (C, H, W) for images, (D,) for vectors.
    sample_shape: tuple[int, ...] = ()

    def __init__(
        self, batch_size: int, batches_per_step: int = 1, eval_samples: int = 2500, eval_batch_size: int = 500
    ) -> None:
        super().__init__()
        self.batch_size = batch_size
        # Critic updates per generator update: each training step takes this many batches at once.
        self.batches_per_step = batches_per_step
        self.eval_samples = eval_samples
        self.eval_batch_size = eval_batch_size

    @property
    def step_batch_size(self) -> int:
        return self.batch_size * self.batches_per_step

    def val_dataloader(self) -> DataLoader:
        indices = TensorDataset(torch.arange(self.eval_samples))
        return DataLoader(indices, batch_size=self.eval_batch_size, shuffle=False)
