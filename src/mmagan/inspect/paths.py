"""Latent interpolation (the original GAN paper's figure): straight and spherical paths."""

from __future__ import annotations

import torch
from torch import Tensor

from mmagan.latent_paths import lerp, slerp, slerp_rows  # noqa: F401 - re-exported for the inspect API

PATHS = {"linear": lerp, "spherical": slerp}


def latent_path(ends: list[Tensor], steps: int, kind: str = "spherical") -> Tensor:
    """`steps` frames from each end to the next, every joint once: (steps - 1) * (ends - 1) + 1."""
    legs = [PATHS[kind](a, b, steps) for a, b in zip(ends, ends[1:])]
    return torch.cat([legs[0], *(leg[1:] for leg in legs[1:])])


def frame_distances(frames: Tensor) -> Tensor:
    """Mean absolute pixel difference between neighbouring frames (a smoothness curve)."""
    return (frames[1:] - frames[:-1]).abs().flatten(1).mean(1)
