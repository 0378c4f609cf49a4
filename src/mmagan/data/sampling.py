"""Training batches as a pure function of (seed, batch number): a run resumed at iteration i draws
exactly the batches an uninterrupted run draws from i on.

torch's shuffling DataLoader draws each epoch's order from the global RNG when the epoch starts and
cannot be restarted mid-epoch, so a resumed run would see other batches than the run it continues.
Here epoch e's order is a permutation seeded by (seed, e), and the loader reports its position
through Lightning's `state_dict` / `load_state_dict` interface for data loaders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def epoch_order(n: int, seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The shuffled indices of epoch `epoch` (the same on every machine for the same seed)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g).to(device)


class ResumableBatchSampler(Sampler[list[int]]):
    """Full batches of a per-epoch permutation (the last partial batch is dropped). Each iteration
    over it is the next epoch; `resume(epoch, batch)` makes the next one start there. Under DDP,
    rank r of w takes every w-th index of the epoch's order, so the ranks' batches are disjoint."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self._epoch, self._start = 0, 0

    def __len__(self) -> int:
        return (self.n // self.world_size) // self.batch_size

    def resume(self, epoch: int, batch_in_epoch: int) -> None:
        self._epoch, self._start = epoch, batch_in_epoch

    def index_batches(self, device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
        """The next epoch's batches as index tensors on `device` (one copy of the order per epoch).
        The epoch is claimed at the first batch taken, so an iterator made and dropped unused (as
        Lightning does to check that a loader iterates) does not skip an epoch."""
        order = epoch_order(self.n, self.seed, self._epoch, device)[self.rank :: self.world_size]
        start, self._start = self._start, 0
        self._epoch += 1
        for b in range(start, len(self)):
            yield order[b * self.batch_size : (b + 1) * self.batch_size]

    def __iter__(self) -> Iterator[list[int]]:
        return (batch.tolist() for batch in self.index_batches())


def collate_batch(batch: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
    """The batch a dataset's `__getitems__` already built, or a stack of single items."""
    return batch if isinstance(batch, torch.Tensor) else torch.stack(batch)


class _ResumablePosition:
    """Lightning's data loader state interface, for loaders over a ResumableBatchSampler."""

    batch_sampler: ResumableBatchSampler
    consumed: Callable[[], int]

    def state_dict(self) -> dict[str, int]:
        return {"batches_consumed": int(self.consumed()), "batches_per_epoch": len(self.batch_sampler)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        done = int(state.get("batches_consumed", 0))
        self.batch_sampler.resume(*divmod(done, len(self.batch_sampler)))


class ResumableLoader(_ResumablePosition, DataLoader):
    """A DataLoader over a ResumableBatchSampler whose state is the batches consumed in training.

    `consumed` returns the batches the training loop has taken so far (its iteration count); the
    loader's own iterator may have prefetched further, so it cannot count them itself.
    """

    def __init__(
        self, dataset: Dataset, sampler: ResumableBatchSampler, consumed: Callable[[], int], **kwargs: Any
    ) -> None:
        # A generator of its own: creating an iterator must not draw from the global RNG, which
        # the training step uses and a checkpoint restores.
        kwargs.setdefault("collate_fn", collate_batch)
        generator = torch.Generator().manual_seed(sampler.seed)
        super().__init__(dataset, batch_sampler=sampler, generator=generator, **kwargs)
        self.consumed = consumed


class DeviceBatches(_ResumablePosition):
    """Training batches of a data set held whole on the device: indices from an on-device
    permutation, no DataLoader, no worker processes, no host-to-device copy per batch. For sets that
    fit in device memory (CIFAR-10 is 150 MB as uint8); the fastest input a small GAN can have."""

    def __init__(
        self,
        dataset: Dataset,
        sampler: ResumableBatchSampler,
        consumed: Callable[[], int],
        device: torch.device,
    ) -> None:
        self.dataset, self.batch_sampler, self.consumed, self.device = dataset, sampler, consumed, device

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[torch.Tensor]:
        return (self.dataset.__getitems__(idx) for idx in self.batch_sampler.index_batches(self.device))
