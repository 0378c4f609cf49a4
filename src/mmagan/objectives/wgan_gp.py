"""Gulrajani et al. (2017): Wasserstein critic with a gradient penalty on random interpolates."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmagan.checks import Checks, _is_number, int_at_least
from mmagan.objectives.base import Losses, Objective, check_logits


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] with x_hat uniformly between paired real and fake samples."""
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


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

    def d_regularizer(self, discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Losses:
        gp = gradient_penalty(discriminator, real, fake)
        return self.gp_weight * gp, {"gp": gp.detach()}

    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        check_logits(fake_logits, 1, "fake")
        adv = -fake_logits.mean()
        return adv, {"g_adv": adv.detach()}
