"""Goodfellow et al. (2014): the minimax GAN objective."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from mmagan.checks import Checks
from mmagan.objectives.base import Losses, Objective, check_logits, mean_bce_with_logits


class GANObjective(Objective):
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))].

    The generator minimises E[log(1 - D(G(z)))] (saturating) or, with `non_saturating`,
    -E[log D(G(z))], which gives G useful gradients early in training.
    """

    name = "gan"
    checks: Checks = {"non_saturating": (lambda v: isinstance(v, bool), "true or false")}

    def __init__(self, non_saturating: bool = False) -> None:
        self.non_saturating = bool(non_saturating)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Losses:
        check_logits(real_logits, self.num_heads, "real")
        check_logits(fake_logits, self.num_heads, "fake")
        real = mean_bce_with_logits(real_logits, 1.0)
        fake = mean_bce_with_logits(fake_logits, 0.0)
        return real + fake, {"d_real": real.detach(), "d_fake": fake.detach()}

    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        check_logits(fake_logits, self.num_heads, "fake")
        if self.non_saturating:
            adv = mean_bce_with_logits(fake_logits, 1.0)
        else:
            # log(1 - sigmoid(l)) = -softplus(l)
            adv = -F.softplus(fake_logits).mean()
        return adv, {"g_adv": adv.detach()}
