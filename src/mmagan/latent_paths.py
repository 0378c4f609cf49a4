"""Paths between latents: straight (lerp) and along the great circle (slerp), used by the
interpolation figures (inspect/) and by perceptual path length (metrics/)."""

from __future__ import annotations

import torch
from torch import Tensor


def lerp(a: Tensor, b: Tensor, steps: int) -> Tensor:
    """`steps` points on the straight line from a to b, ends included (paths in W)."""
    t = torch.linspace(0, 1, steps, device=a.device)[:, None]
    return (1 - t) * a + t * b


def slerp_rows(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Row-wise: along the great circle from a[i] to b[i] at t[i] (N, 1), with the norm
    interpolated linearly: the path a Gaussian latent keeps to, where a straight line passes
    through improbably short vectors."""
    na, nb = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    ua, ub = a / na, b / nb
    d = (ua * ub).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7)
    c = ub - d * ua  # the direction towards b, orthogonal to a
    c = c / c.norm(dim=1, keepdim=True)
    p = t * torch.acos(d)
    return (ua * torch.cos(p) + c * torch.sin(p)) * torch.lerp(na, nb, t)


def slerp(a: Tensor, b: Tensor, steps: int) -> Tensor:
    """`steps` points from a to b along `slerp_rows`."""
    t = torch.linspace(0, 1, steps, device=a.device, dtype=a.dtype)[:, None]
    return slerp_rows(a.expand(steps, -1), b.expand(steps, -1), t)
