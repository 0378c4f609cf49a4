"""Each generated sample beside its k closest training images, in a named feature space."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.data import Dataset


def to_unit(x: Tensor) -> Tensor:
    """Images in G's range [-1, 1]: stored uint8 images converted, G's samples as they are."""
    return x.float() / 127.5 - 1 if x.dtype == torch.uint8 else x.float()


@torch.no_grad()
def nearest(
    queries: Tensor,
    train: Dataset | Tensor,
    k: int = 3,
    features: Callable[[Tensor], Tensor] | None = None,
    batch_size: int = 2048,
) -> tuple[Tensor, Tensor]:
    """(distances, indices), each (Q, k): the k training items closest to each query, by Euclidean
    distance between `features` (pixels by default). The training set (a tensor, or a Dataset with
    batched `__getitems__` such as ImageArray) is read in batches keeping a running top-k, never one
    image at a time and never whole in memory."""
    embed = features or (lambda x: x.float().flatten(1))
    q = embed(queries)
    best_d = torch.full((len(q), k), float("inf"))
    best_i = torch.zeros((len(q), k), dtype=torch.long)
    n = len(train)
    for start in range(0, n, batch_size):
        idx = list(range(start, min(n, start + batch_size)))
        batch = train[start : start + len(idx)] if isinstance(train, Tensor) else train.__getitems__(idx)
        # Exact differences, not the matrix-product shortcut: a training image is at distance 0.
        d = torch.cdist(q, embed(batch), compute_mode="donot_use_mm_for_euclid_dist")
        d_all = torch.cat([best_d, d], 1)
        i_all = torch.cat([best_i, torch.tensor(idx).expand(len(q), -1)], 1)
        best_d, order = d_all.topk(k, dim=1, largest=False)
        best_i = i_all.gather(1, order)
    return best_d, best_i
