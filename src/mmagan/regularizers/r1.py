"""R1 (Mescheder et al. 2018): a penalty on the gradient of D at real samples, the regulariser of
StyleGAN and StyleGAN2, beside any objective."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmagan.checks import Checks, _is_number, int_at_least
from mmagan.regularizers.base import Losses, PhaseBatch, Regularizer


def r1_penalty(judge: Callable[[Tensor], Tensor], real: Tensor, gamma: float) -> tuple[Tensor, Tensor]:
    """(gamma / 2 * E_x ||grad_x sum_k D_k(x)||^2, D's logits on the reals). The gradient is kept in
    the graph (D learns from it)."""
    real = real.detach().requires_grad_(True)
    logits = judge(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return 0.5 * gamma * grad.square().flatten(1).sum(1).mean(), logits


class R1(Regularizer):
    name = "r1"
    phase = "D"
    double_backward = True
    weight_key = "gamma"
    checks: Checks = {
        "gamma": (lambda v: _is_number(v) and v >= 0, "a number >= 0 (0: off)"),
        "interval": (int_at_least(1), "an integer >= 1 (1: in every D step)"),
    }

    def __init__(self, gamma: float = 0.0, interval: int = 16) -> None:
        super().__init__(interval)
        self.gamma = float(gamma)

    def forward(self, batch: PhaseBatch) -> Losses:
        penalty, _ = r1_penalty(batch.judge, batch.real, self.gamma)
        return penalty, {"r1": penalty.detach()}
