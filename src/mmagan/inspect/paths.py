"""Latent interpolation (the original GAN paper's figure): straight and spherical paths."""

from __future__ import annotations

import torch
from torch import Tensor


def lerp(a: Tensor, b: Tensor, steps: int) -> Tensor:
    t = torch.linspace(0, 1, steps, device=a.device)[:, None]
    return (1 - t) * a + t * b


def slerp(a: Tensor, b: Tensor, steps: int) -> Tensor:
    """Along the great circle between a and b, with the norm interpolated linearly: the path a
    Gaussian latent keeps to, where a straight line passes through improbably short vectors."""
    t = torch.linspace(0, 1, steps, device=a.device)[:, None]
    na, nb = a.norm(), b.norm()
    ua, ub = a / na, b / nb
    omega = torch.arccos((ua * ub).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return direction * ((1 - t) * na + t * nb)


PATHS = {"linear": lerp, "spherical": slerp}


def frame_distances(frames: Tensor) -> Tensor:
    """Mean absolute pixel difference between neighbouring frames (a smoothness curve)."""
    return (frames[1:] - frames[:-1]).abs().flatten(1).mean(1)
