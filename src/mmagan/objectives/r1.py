"""R1 (Mescheder et al. 2018): a penalty on the gradient of D at real samples, the regulariser of
StyleGAN and StyleGAN2. It works beside any objective, so the training step adds it, not an
objective."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def r1_penalty(judge: Callable[[Tensor], Tensor], real: Tensor, gamma: float) -> tuple[Tensor, Tensor]:
    """(gamma / 2 * E_x ||grad_x sum_k D_k(x)||^2, D's logits on the reals): the logits come from the
    same pass, so the D loss needs no second one. The gradient is kept in the graph (D learns from it)."""
    real = real.detach().requires_grad_(True)
    logits = judge(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return 0.5 * gamma * grad.square().flatten(1).sum(1).mean(), logits
