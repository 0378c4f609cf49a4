"""Mode-seeking regularisation (MSGAN: Mao et al., CVPR 2019).

For two latents z1, z2 and their samples, ratio = mean|G(z1) - G(z2)| / mean|z1 - z2|; G adds
weight / (ratio + eps) to its loss, so that distinct latents must give distinct samples. The pairs
are the two halves of the G step's own batch (no extra forward pass), as MSGAN's code pairs two
latents of one conditioning input.
"""

from __future__ import annotations

from torch import Tensor

from mmagan.checks import Checks, _is_number
from mmagan.regularizers.base import Losses, PhaseBatch, Regularizer


def mode_seeking_ratio(fake: Tensor, z: Tensor) -> Tensor:
    """mean|G(z1) - G(z2)| / mean|z1 - z2| over the pairs (first half, second half) of a batch."""
    half = fake.shape[0] // 2
    samples = (fake[:half] - fake[half : 2 * half]).abs().mean()
    latents = (z[:half] - z[half : 2 * half]).abs().mean()
    return samples / latents


class ModeSeeking(Regularizer):
    name = "ms"
    phase = "G"
    remedy = True
    min_batch = 2
    checks: Checks = {
        "weight": (lambda v: _is_number(v) and v >= 0, "a number >= 0 (0: off)"),
        "eps": (lambda v: _is_number(v) and v > 0, "a number > 0"),
    }

    def __init__(self, weight: float = 0.0, eps: float = 1e-5) -> None:
        super().__init__(interval=1)
        self.weight, self.eps = float(weight), float(eps)

    def forward(self, batch: PhaseBatch) -> Losses:
        ratio = mode_seeking_ratio(batch.fake, batch.z)
        penalty = 1.0 / (ratio + self.eps)
        return self.weight * penalty, {"ms_ratio": ratio.detach(), "ms_penalty": penalty.detach()}
