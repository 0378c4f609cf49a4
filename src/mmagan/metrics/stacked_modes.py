"""Mode counting on stacked digits (VEEGAN / PacGAN protocol): 1000 modes, one per digit triple
(10 for single digits)."""

from __future__ import annotations

import torch
from torch import Tensor

NUM_MODES = 1000


def triple_labels(samples: Tensor, classify) -> Tensor:
    """Mode index of each (N, C, H, W) sample from the digit in each channel: 100 a + 10 b + c for
    three channels, the digit itself for one."""
    n, c = samples.shape[:2]
    digits = classify(samples.reshape(n * c, 1, *samples.shape[2:])).reshape(n, c)
    weights = 10 ** torch.arange(c - 1, -1, -1, device=digits.device)
    return (digits * weights).sum(1)


def stacked_mode_figures(modes: Tensor, num_modes: int = NUM_MODES) -> dict[str, float]:
    """Modes captured (of `num_modes`) and KL(p_gen || uniform) from the mode index of each sample."""
    counts = torch.bincount(modes.cpu().long(), minlength=num_modes).to(torch.float64)
    p = counts / counts.sum()
    p = p[p > 0]
    return {"modes": float((counts > 0).sum()), "kl": float((p * (p * num_modes).log()).sum())}
