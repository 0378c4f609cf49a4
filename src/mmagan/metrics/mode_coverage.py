"""Mode counting on data with known modes (PacGAN / VEEGAN protocol)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def mode_coverage(samples: Tensor, modes: Tensor, std: float, threshold: float = 3.0) -> dict[str, float]:
    """Modes captured, % high-quality samples and reverse KL for generated `samples` (N, D).

    A sample is high quality when it lies within `threshold` standard deviations of its nearest mode;
    a mode is captured when at least one high-quality sample is nearest to it. Reverse KL is
    KL(p_gen || uniform) over the modes of the high-quality samples; with none it is log(n_modes),
    the value of a total collapse onto one mode.
    """
    samples = samples.detach().to(torch.float64).cpu()
    modes = modes.to(torch.float64).cpu()
    dist, nearest = torch.cdist(samples, modes).min(dim=1)
    good = dist <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(modes)).to(torch.float64)
    n_modes = len(modes)
    if counts.sum() > 0:
        p = counts / counts.sum()
        p = p[p > 0]
        reverse_kl = float((p * (p * n_modes).log()).sum())
    else:
        reverse_kl = math.log(n_modes)
    return {
        "modes": float((counts > 0).sum()),
        "high_quality_pct": 100.0 * float(good.to(torch.float64).mean()),
        "reverse_kl": reverse_kl,
    }
