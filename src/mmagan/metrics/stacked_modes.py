"""Mode counting on stacked digits (VEEGAN / PacGAN protocol): 1000 modes, one per digit triple."""

from __future__ import annotations

import torch
from torch import Tensor

NUM_MODES = 1000


def triple_labels(samples: Tensor, classify) -> Tensor:
    """Mode index 100 a + 10 b + c of each (N, 3, H, W) sample, from the digit in each channel."""
    n, c = samples.shape[:2]
    digits = classify(samples.reshape(n * c, 1, *samples.shape[2:])).reshape(n, c)
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def stacked_mode_figures(modes: Tensor) -> dict[str, float]:
    """Modes captured (of 1000) and KL(p_gen || uniform) from the mode index of each sample."""
    counts = torch.bincount(modes.cpu().long(), minlength=NUM_MODES).to(torch.float64)
    p = counts / counts.sum()
    p = p[p > 0]
    return {"modes": float((counts > 0).sum()), "kl": float((p * (p * NUM_MODES).log()).sum())}
