"""WGAN-GP's gradient penalty (Gulrajani et al. 2017) as a D regulariser: the objective that
defines it (objectives/wgan_gp.py) hands it to the step through `Objective.regularizers`."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmagan.regularizers.base import Losses, PhaseBatch, Regularizer


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] with x_hat uniformly between paired real and fake samples."""
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class GradientPenalty(Regularizer):
    name = "gp"
    phase = "D"
    double_backward = True

    def __init__(self, weight: float = 10.0) -> None:
        super().__init__(interval=1)
        self.weight = float(weight)

    def forward(self, batch: PhaseBatch) -> Losses:
        gp = gradient_penalty(batch.judge, batch.real, batch.fake)
        return self.weight * gp, {"gp": gp.detach()}
