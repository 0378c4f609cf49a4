"""What every mmagan DataModule shares: the resumable training loader and what it offers evaluation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from mmagan.checks import Checks
from mmagan.data.sampling import DeviceBatches, ResumableBatchSampler, ResumableLoader

log = logging.getLogger("mmagan")

if TYPE_CHECKING:
    from mmagan.data.mixtures import GaussianMixture


@dataclass(frozen=True)
class EvaluationOffer:
    """What a data set lets evaluation measure; None where it does not apply. Callbacks read this,
    never the DataModule's attributes, so a new data set says in one place what it supports."""

    #: Known modes: modes captured / % high quality / reverse KL (2-D mixtures).
    mixture: GaussianMixture | None = None
    #: Images (N, 3, H, W) in [-1, 1] -> digit labels (N, 3), one per channel (stacked digits).
    classify_channels: Callable[[Tensor], Tensor] | None = None
    #: Real images for FID/IS/KID/precision-recall, and the key their features are cached under.
    reference_images: Callable[[], Dataset] | None = None
    reference_key: Callable[[], str] | None = None


class GANDataModule(L.LightningDataModule):
    """Real samples for training. Validation batches (indices of the fixed evaluation latents)
    come from the GAN module, which owns those latents."""

    #: Shape of one real sample: (C, H, W) for images, (D,) for vectors.
    sample_shape: tuple[int, ...] = ()

    #: Whether the training set is held in memory (a tensor), so it can move whole to the device.
    in_memory: bool = True

    #: The checks of this data set's own parameters (data.<key>), run by the config validation
    #: before anything is built and by the constructor for direct use: key -> (predicate, allowed).
    checks: Checks = {}

    @classmethod
    def shape_for(cls, data: dict) -> tuple[int, ...]:
        """The sample shape the `data` block gives, read before anything is built (the config
        validation checks the nets against it)."""
        return cls.sample_shape

    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        shuffle_seed: int | None = None,
        device_data: bool = False,
    ) -> None:
        super().__init__()
        if device_data and not self.in_memory:
            log.info(
                "trainer.speed.device_data: this data set is memory-mapped from disk, not held in "
                "memory; its batches come from the DataLoader (data.loader.*)"
            )
            device_data = False
        self.device_data = device_data
        self.batch_size = batch_size
        # Critic updates per generator update: each training step takes this many batches at once.
        self.batches_per_step = batches_per_step
        # The training order's seed; by default drawn from the run's seeded RNG.
        self.shuffle_seed = int(torch.randint(2**31, ()) if shuffle_seed is None else shuffle_seed)
        self.train_set: Dataset | None = None
        # What the GAN module knows and build.py connects: the training batches already consumed (a
        # resumed run's generator iterations; the loaders start after them), and the validation
        # batches (indices into the module's fixed evaluation latents).
        self.batches_done: Callable[[], int] = lambda: 0
        self.evaluation_batches: Callable[[], DataLoader] | None = None

    @property
    def step_batch_size(self) -> int:
        return self.batch_size * self.batches_per_step

    def evaluation(self) -> EvaluationOffer:
        """What this data offers the metrics (a mixture's modes, a digit classifier, reference images);
        the base offers nothing, so only G's own figures are logged."""
        return EvaluationOffer()

    def _batches_consumed(self) -> int:
        return self.batches_done()

    def train_loader(self, **loader_kwargs) -> ResumableLoader | DeviceBatches:
        """Every data set's training loader: one batch per generator iteration, resumable exactly;
        with device_data, the whole set on the training device and no DataLoader."""
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        sampler = ResumableBatchSampler(
            len(self.train_set), self.step_batch_size, self.shuffle_seed, rank, world
        )
        if self.device_data:
            device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
            return DeviceBatches(self.train_set.on_device(device), sampler, self._batches_consumed, device)
        return ResumableLoader(self.train_set, sampler, self._batches_consumed, **loader_kwargs)

    def train_dataloader(self) -> ResumableLoader | DeviceBatches:
        return self.train_loader()

    def val_dataloader(self) -> DataLoader:
        # Lightning asks the DataModule; the batches are the GAN module's (see evaluation_batches).
        if self.evaluation_batches is None:
            raise RuntimeError(
                "validation needs the GAN module's evaluation batches: build the run with build()"
            )
        return self.evaluation_batches()
