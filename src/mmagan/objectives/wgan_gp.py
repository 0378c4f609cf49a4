"""Gulrajani et al. (2017): Wasserstein critic with a gradient penalty on random interpolates."""

from __future__ import annotations

from torch import Tensor

from mmagan.checks import Checks, _is_number, int_at_least
from mmagan.objectives.base import Losses, Objective, check_logits
from mmagan.regularizers.base import Regularizer
from mmagan.regularizers.gradient_penalty import GradientPenalty


class WGANGPObjective(Objective):
    """Gulrajani et al. (2017): a one-output critic, `n_critic` critic updates per G update and a
    gradient penalty of weight `gp_weight` (no batch norm in the critic: the penalty is per sample)."""

    name = "wgan_gp"
    d_batch_norm_ok = False
    checks: Checks = {
        "n_critic": (int_at_least(1), "an integer >= 1"),
        "gp_weight": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    }

    def __init__(self, gp_weight: float = 10.0, n_critic: int = 5) -> None:
        self.gp_weight = float(gp_weight)
        self.d_steps = int(n_critic)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Losses:
        check_logits(real_logits, 1, "real")
        check_logits(fake_logits, 1, "fake")
        wasserstein = real_logits.mean() - fake_logits.mean()
        return -wasserstein, {"wasserstein": wasserstein.detach()}

    def regularizers(self) -> list[Regularizer]:
        return [GradientPenalty(self.gp_weight)]

    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        check_logits(fake_logits, 1, "fake")
        adv = -fake_logits.mean()
        return adv, {"g_adv": adv.detach()}
