"""VEEGAN's nets (Srivastava et al. 2017): a reconstructor F (sample -> latent) trained beside G,
and for images a D on (z, x) pairs that reads x with convolutions before it meets z."""

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


class ImagePairDiscriminator(nn.Module):
    """D on `pair(z, x)` rows for images: x through a conv trunk to `features` numbers, those beside
    z through one hidden layer to a logit. The paper's image nets join z after the convolutions
    (a latent has no spatial layout to convolve)."""

    def __init__(
        self, trunk: nn.Module, features: int, latent_dim: int, sample_shape: tuple[int, ...], hidden: int
    ) -> None:
        super().__init__()
        self.trunk, self.latent_dim, self.sample_shape = trunk, latent_dim, tuple(sample_shape)
        self.joint = nn.Sequential(nn.Linear(features + latent_dim, hidden), nn.LeakyReLU(0.2))
        self.head = nn.Linear(hidden, 1)

    def forward(self, pairs: Tensor) -> Tensor:
        z, x = pairs[:, : self.latent_dim], pairs[:, self.latent_dim :].view(-1, *self.sample_shape)
        return self.head(self.joint(torch.cat([self.trunk(x), z], 1)))
