"""Activation vectors written back into a layer of G with a forward hook (no copy of the nets):
everywhere (full replace), in g x g blocks (grid replace), or into the labelled regions of a map
(painting)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmagan.inspect.layers import InspectError, Layer

# Grid size 0: the vector everywhere (full replace).
FULL = 0


def _block_axis(n: int, g: int, device) -> Tensor:
    """(n,) bool: rows (or columns) inside a block. Blocks start at 0, g+1, 2(g+1), ... while the
    start is below n - g, and cover g positions each: a one-position gap of G's own activations
    follows every block (Herdt and Maass's grid replace)."""
    inside = torch.zeros(n, dtype=torch.bool, device=device)
    for start in range(0, n - g, g + 1):
        inside[start : start + g] = True
    return inside


def grid_mask(height: int, width: int, g: int, device: torch.device | str = "cpu") -> Tensor:
    """(H, W) bool: where grid replace with block size g writes; g = 0 (FULL) is everywhere.
    Block size 1 is every other position in both directions."""
    largest = min(height, width) - 1
    if not isinstance(g, int) or isinstance(g, bool) or g < 0 or g > largest:
        raise InspectError(
            f"grid size {g!r} is invalid: must be 0 (full replace) or a block size from 1 to {largest}"
        )
    if g == FULL:
        return torch.ones(height, width, dtype=torch.bool, device=device)
    return _block_axis(height, g, device)[:, None] & _block_axis(width, g, device)[None, :]


@contextmanager
def writing(module: nn.Module, vectors: Tensor, mask: Tensor) -> Iterator[None]:
    """While active, the module's output takes `vectors` (C, H, W) where `mask` (H, W) is True."""

    def hook(_module, _inputs, out: Tensor) -> Tensor:
        return torch.where(mask.to(out.device), vectors.to(out), out)

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def tiled(vector: Tensor, layer: Layer, g: int) -> tuple[Tensor, Tensor]:
    """(vectors, mask) that write one C-vector in g x g blocks (g = 0: everywhere)."""
    c, h, w = layer.shape
    if vector.shape != (c,):
        raise InspectError(
            f"a vector of shape {tuple(vector.shape)} does not fit layer {layer.path} ({c} channels)"
        )
    return vector[:, None, None].expand(c, h, w), grid_mask(h, w, g, vector.device)


def label_map_at(labels: Tensor, layer: Layer) -> Tensor:
    """A label map (H0, W0) of ints resized to the layer's (H, W) by nearest neighbour."""
    _, h, w = layer.shape
    return F.interpolate(labels[None, None].float(), size=(h, w), mode="nearest")[0, 0].long()


def painted(layer: Layer, labels: Tensor, palette: dict[int, tuple[Tensor, int]]) -> tuple[Tensor, Tensor]:
    """(vectors, mask) that paint palette[label] = (vector, grid size) into each labelled region of
    the layer; label -1 (and any label not in the palette) keeps G's own activations."""
    c, h, w = layer.shape
    at_layer = label_map_at(labels, layer)
    vectors = torch.zeros(c, h, w)
    mask = torch.zeros(h, w, dtype=torch.bool)
    for label, (vector, g) in palette.items():
        values, lattice = tiled(vector.cpu(), layer, g)
        region = (at_layer == label) & lattice
        vectors = torch.where(region, values, vectors)
        mask |= region
    return vectors, mask
