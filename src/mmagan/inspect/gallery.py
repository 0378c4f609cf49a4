"""The gallery of vectors made visible (rows) at grid sizes 1 (full) to 4 (columns), with each
vector's tileability: how much of its look survives being repeated."""

from __future__ import annotations

import torch
from torch import Tensor

from mmagan.inspect.layers import module_at
from mmagan.inspect.surgery import tiled, writing
from mmagan.inspect.vectors import VectorBank
from mmagan.sampler import Sampler

GRIDS = (1, 2, 3, 4)


@torch.no_grad()
def visualize(sampler: Sampler, bank: VectorBank, vector: Tensor, z: Tensor, grids=GRIDS) -> Tensor:
    """(len(grids), C, H, W): the base sample of latent z (1, latent_dim) with `vector` written on
    a lattice of each spacing, one forward pass each, no optimisation."""
    out = []
    for g in grids:
        values, lattice = tiled(vector, bank.layer, min(g, max(bank.layer.shape[1:])))
        with writing(module_at(sampler.net, bank.layer), values, lattice):
            out.append(sampler(z)[0])
    return torch.stack(out)


def _patch(image: Tensor, cy: int, cx: int, size: int) -> Tensor:
    _, h, w = image.shape
    y0, x0 = max(0, min(h - size, cy - size // 2)), max(0, min(w - size, cx - size // 2))
    return image[:, y0 : y0 + size, x0 : x0 + size]


@torch.no_grad()
def tileability(sampler: Sampler, bank: VectorBank, ids: list[int]) -> Tensor:
    """Per vector id: 1 - d(source patch, the same place after full replace) / d(source patch, the
    same place in another sample), in pixels. Near 1: the tiled output looks like the vector's own
    neighbourhood everywhere (a texture); near 0 or below: tiling destroys its look (an object part)."""
    _, h, w = bank.layer.shape
    n = int(bank.index[:, 0].max()) + 1
    latents = sampler.latents(n, seed=bank.seed)
    originals = sampler(latents)
    _, _, height, width = originals.shape
    size = max(2, 2 * height // h)
    scores = []
    for i in ids:
        latent, y, x = bank.index[i].tolist()
        cy, cx = (2 * y + 1) * height // (2 * h), (2 * x + 1) * width // (2 * w)
        source = _patch(originals[latent], cy, cx, size)
        tiled_image = visualize(sampler, bank, bank.vector(i), latents[latent : latent + 1], grids=(1,))[0]
        other = originals[(latent + 1) % n]
        d_tiled = (source - _patch(tiled_image, cy, cx, size)).norm()
        d_other = (source - _patch(other, cy, cx, size)).norm().clamp_min(1e-8)
        scores.append(1 - d_tiled / d_other)
    return torch.stack(scores)
