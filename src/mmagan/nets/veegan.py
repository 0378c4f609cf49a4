"""VEEGAN's extra net: a reconstructor F (sample -> latent) trained beside G (Srivastava et al. 2017)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ReconstructingGenerator(nn.Module):
    """G with VEEGAN's reconstructor F beside it: sampling is G's alone; G's optimizer trains both,
    as Algorithm 1 updates G and F on the same reconstruction term."""

    def __init__(self, generator: nn.Module, reconstructor: nn.Module) -> None:
        super().__init__()
        self.generator, self.reconstructor = generator, reconstructor
        self.latent_dim = getattr(generator, "latent_dim", None)

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)


def pair(z: Tensor, x: Tensor) -> Tensor:
    """(z, x) as one row per sample: what VEEGAN's D judges."""
    return torch.cat([z, x.flatten(1)], 1)
