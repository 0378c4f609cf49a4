"""2-D Gaussian mixtures with known modes (the PacGAN ring and grid): what the toy data sets sample
and what mode counting measures against. Below both the DataModules and their evaluation offer."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class GaussianMixture:
    """Equal-weight isotropic Gaussians at `modes` (n, 2) with a common `std`."""

    modes: Tensor
    std: float

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n points: a uniformly chosen mode plus Gaussian noise of `std`."""
        idx = torch.randint(len(self.modes), (n,), generator=generator)
        return self.modes[idx] + self.std * torch.randn(n, self.modes.shape[1], generator=generator)


def ring(num_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """`num_modes` modes evenly on a circle of `radius` (PacGAN's ring: 8 modes, radius 1, std 0.01)."""
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    modes = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture(modes.float(), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """side x side modes `spacing` apart, centred on 0 (PacGAN's grid: 5 x 5, spacing 2, std 0.05)."""
    axis = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    modes = torch.cartesian_prod(axis, axis)
    return GaussianMixture(modes, std)


MIXTURES = {"ring": ring, "grid": grid}
