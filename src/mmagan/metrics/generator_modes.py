"""Which generator covers which mode (MAD-GAN's k generators on data with known modes)."""

from __future__ import annotations

import torch
from torch import Tensor


def generator_mode_counts(
    per_generator: list[Tensor], modes: Tensor, std: float, threshold: float = 3.0
) -> Tensor:
    """(k, M): generator j's high-quality samples nearest to mode m (mode_coverage's rule: within
    `threshold` standard deviations of the nearest mode)."""
    modes = modes.to(torch.float64).cpu()
    rows = []
    for samples in per_generator:
        dist, nearest = torch.cdist(samples.detach().to(torch.float64).cpu(), modes).min(dim=1)
        rows.append(torch.bincount(nearest[dist <= threshold * std], minlength=len(modes)))
    return torch.stack(rows)


def generator_mode_figures(counts: Tensor) -> dict[str, float]:
    """Modes each generator covers (mean over generators), and generators per covered mode: with
    generators that split the modes between them, the first is about modes / k and the second 1."""
    covers = counts > 0
    covered = covers.any(0)
    per_mode = covers.sum(0)[covered].double().mean() if covered.any() else torch.tensor(0.0)
    return {
        "modes/modes_per_generator": float(covers.sum(1).double().mean()),
        "modes/generators_per_mode": float(per_mode),
    }
