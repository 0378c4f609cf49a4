"""Activation vectors: the C-vector at every position of a layer over real forward passes, each
kept with its source (latent seed and index, y, x). One file holds them for later commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from mmagan.inspect.layers import InspectError, Layer, find_layer, module_at, require_file
from mmagan.runs.files import atomic_write
from mmagan.sampler import Sampler


@dataclass
class VectorBank:
    """Activation vectors of one layer of G over many latents, with where each came from
    (latent id, position), for the gallery and painting."""

    layer: Layer
    vectors: Tensor  # (N * H * W, C)
    index: Tensor  # (N * H * W, 3): latent number, y, x
    seed: int  # the latents are sampler.latents(N, seed)

    def __len__(self) -> int:
        return len(self.vectors)

    def vector(self, i: int) -> Tensor:
        """The activation vector of id `i` (C,)."""
        if not 0 <= i < len(self):
            raise InspectError(f"vector id {i} is out of range: this bank holds ids 0 to {len(self) - 1}")
        return self.vectors[i]

    def state(self) -> dict:
        """What the file holds (torch.save of this dict)."""
        return {
            "layer": [self.layer.index, self.layer.path, list(self.layer.shape), self.layer.kind],
            "vectors": self.vectors,
            "index": self.index,
            "seed": self.seed,
        }

    def save(self, path: str | Path) -> Path:
        """Write the bank to `path` (torch file)."""
        return atomic_write(path, lambda tmp: torch.save(self.state(), tmp))

    @classmethod
    def load(cls, path: str | Path) -> VectorBank:
        """A bank written by `save`."""
        require_file(path, "--vectors")
        data = torch.load(path, map_location="cpu", weights_only=True)
        index, name, shape, *kind = data["layer"]  # files written before the module type was kept lack it
        return cls(Layer(index, name, tuple(shape), *kind), data["vectors"], data["index"], data["seed"])

    def cluster_centres(self, k: int, seed: int = 0) -> Tensor:
        """k representatives (k-means centres, scikit-learn), each snapped to its nearest real
        vector: a centre itself may lie off the activations' distribution."""
        from sklearn.cluster import KMeans

        if not 1 <= k <= len(self):
            raise InspectError(f"{k} clusters is invalid for {len(self)} vectors")
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(self.vectors.numpy())
        centres = torch.from_numpy(km.cluster_centers_).to(self.vectors)
        return self.vectors[torch.cdist(centres, self.vectors).argmin(1)]


@torch.no_grad()
def collect(sampler: Sampler, layer_name: str | int, n: int, seed: int = 0) -> VectorBank:
    """The activation vectors of `layer_name` for the `n` latents of `seed`: one per spatial position."""
    layer = find_layer(sampler.net, sampler.latent_dim, layer_name)
    out: list[Tensor] = []
    handle = module_at(sampler.net, layer).register_forward_hook(
        lambda m, i, o: out.append(o.detach().float().cpu())
    )
    try:
        sampler.sample(n, seed=seed)
    finally:
        handle.remove()
    acts = torch.cat(out)  # (N, C, H, W)
    n_, c, h, w = acts.shape
    vectors = acts.permute(0, 2, 3, 1).reshape(-1, c)
    grid = torch.stack(torch.meshgrid(torch.arange(n_), torch.arange(h), torch.arange(w), indexing="ij"), -1)
    return VectorBank(layer, vectors, grid.reshape(-1, 3), seed)
