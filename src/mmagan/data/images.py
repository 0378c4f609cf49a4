"""What image DataModules share: uint8 arrays in memory or memory-mapped, fast batched loading,
and the conversion to [-1, 1] on the training device.

Batches travel as uint8 (a quarter of the bytes of float32) and become floats, with the optional
flip, after they reach the device (`on_after_batch_transfer`), so neither the loader workers nor
the host-to-device copy do float work the GPU does faster.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from mmagan.checks import Checks, check_values, int_at_least
from mmagan.data.base import EvaluationOffer, GANDataModule
from mmagan.errors import ConfigError

log = logging.getLogger("mmagan")
LOADER_KEYS = {"num_workers", "pin_memory", "persistent_workers"}


class ImageArray(Dataset):
    """Images of one uint8 array (N, C, H, W): a tensor, or a numpy memmap of a prepared file.

    `__getitems__` lets the DataLoader fetch a whole batch with one fancy index instead of
    `batch_size` single-item calls and a stack.
    """

    def __init__(self, images: Tensor | np.ndarray) -> None:
        if images.ndim != 4 or images.dtype not in (torch.uint8, np.uint8):
            raise ValueError(f"expected uint8 images (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tensor:
        return torch.as_tensor(np.asarray(self.images[index]))

    def on_device(self, device: torch.device) -> ImageArray:
        return ImageArray(torch.as_tensor(np.asarray(self.images)).to(device))

    def __getitems__(self, indices: list[int] | Tensor) -> Tensor:
        if isinstance(self.images, Tensor):
            return self.images[torch.as_tensor(indices, device=self.images.device)]
        # Memory-mapped: read in file order (sequential pages), then restore the shuffled order.
        order = np.argsort(indices)
        batch = np.empty((len(indices), *self.images.shape[1:]), dtype=np.uint8)
        batch[order] = self.images[np.asarray(indices)[order]]
        return torch.from_numpy(batch)


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of G's tanh output."""
    return images.float().div_(127.5).sub_(1.0)


def random_flip(images: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


BOOL = (lambda v: isinstance(v, bool), "true or false")
#: data.<key> checks shared by every image data set.
IMAGE_CHECKS: Checks = {
    "flip": BOOL,
    "loader.num_workers": (lambda v: v == "auto" or int_at_least(0)(v), "'auto' or an integer >= 0"),
    "loader.pin_memory": (lambda v: v == "auto" or isinstance(v, bool), "'auto', true or false"),
    "loader.persistent_workers": BOOL,
}


def resolve_num_workers(value: Any, in_memory: bool) -> int:
    """`auto`: no workers for data already in memory (a batch is one indexing op), else up to 8
    worker processes, leaving one core for the training process."""
    if value == "auto":
        return 0 if in_memory else max(1, min(8, (os.cpu_count() or 2) - 1))
    return value


def resolve_pin_memory(value: Any) -> bool:
    """`auto`: pinned host memory where a GPU will read the batches."""
    return torch.cuda.is_available() if value == "auto" else value


class ImageDataModule(GANDataModule):
    """Training images as uint8 (N, C, R, R); subclasses fill `self.train_set` in `setup`."""

    checks: Checks = IMAGE_CHECKS

    @classmethod
    def shape_for(cls, data: dict) -> tuple[int, ...]:
        resolution = data["resolution"]
        return (data.get("channels", 3), resolution, resolution)

    def __init__(
        self,
        resolution: int,
        channels: int = 3,
        batch_size: int = 64,
        flip: bool = False,
        loader: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        loader = dict(loader or {})
        unknown = sorted(set(loader) - LOADER_KEYS)
        if unknown:
            raise ConfigError(f"data.loader.{unknown[0]} is not a known key; known: {sorted(LOADER_KEYS)}")
        check_values({"flip": flip, "loader": loader}, "data.", IMAGE_CHECKS)
        persistent = loader.get("persistent_workers", True)
        self.sample_shape = (channels, resolution, resolution)
        self.flip = flip
        self.num_workers = resolve_num_workers(loader.get("num_workers", "auto"), self.in_memory)
        self.pin_memory = resolve_pin_memory(loader.get("pin_memory", "auto"))
        self.persistent_workers = persistent

    def check_size(self, n: int, what: str) -> None:
        if n < self.step_batch_size:
            raise ConfigError(
                f"{what} holds {n} images, fewer than one training step's batch "
                f"({self.step_batch_size} = data.batch_size x critic steps)"
            )

    def check_shape(self, images: Tensor | np.ndarray, what: str) -> None:
        if tuple(images.shape[1:]) != self.sample_shape:
            raise ConfigError(
                f"{what} holds images of shape {tuple(images.shape[1:])}, but the config asks for "
                f"{self.sample_shape}; prepare it again at data.resolution={self.sample_shape[-1]}"
            )

    def train_dataloader(self) -> DataLoader:
        return self.train_loader(
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers and self.num_workers > 0,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        # Training batches are uint8 images; validation batches are latent indices (int64).
        if isinstance(batch, Tensor) and batch.dtype == torch.uint8:
            batch = to_unit_range(batch)
            if self.flip:
                batch = random_flip(batch)
        return batch

    def evaluation(self) -> EvaluationOffer:
        """The training images (uint8, CHW) as the reference set of FID / KID / precision-recall, with
        a cache key that names the data set, split and resolution."""
        return EvaluationOffer(reference_images=self.reference_images, reference_key=self.reference_key)

    def reference_images(self) -> ImageArray:
        """The real images metrics compare against: the whole training set (fid50k_full)."""
        return self.train_set

    def reference_key(self) -> str:
        """Names the reference images in metric caches (a content fingerprint is added to it)."""
        return f"{self.name}-{self.sample_shape[-1]}"
