"""MMA-GAN: K sigmoid "mode activation" heads and a mode-coverage hinge for the generator."""

from __future__ import annotations

import torch
from torch import Tensor

from mmagan.objectives.base import Losses, check_logits, mean_bce_with_logits
from mmagan.objectives.dcgan import DCGANObjective


def mode_activations(div_logits: Tensor) -> Tensor:
    """A_k: the mean sigmoid activation of each head over the diversity batch, shape (K,)."""
    return torch.sigmoid(div_logits).mean(dim=0)


def coverage_hinge(activations: Tensor, tau: float) -> Tensor:
    """sum_k max(0, tau - A_k): zero once every head fires on at least a tau share of fakes."""
    return torch.relu(tau - activations).sum()


class MMAGANObjective(DCGANObjective):
    """L_D = -E_real[mean_k log D_k] - E_fake[mean_k log(1 - D_k)];
    L_G = -E_fake[mean_k log D_k] + lambda * sum_k max(0, tau - A_k).

    With K = 1 and lambda = 0 this is exactly the DCGAN objective.
    """

    name = "mmagan"

    def __init__(
        self, num_heads: int = 8, lambda_div: float = 0.5, tau: float = 0.5, diversity_batch_size: int = 64
    ) -> None:
        super().__init__()
        self.num_heads = int(num_heads)
        self.lambda_div = float(lambda_div)
        self.tau = float(tau)
        # With lambda = 0 the hinge has no effect: skip the extra M-sample forward pass.
        self.diversity_batch_size = int(diversity_batch_size) if self.lambda_div > 0 else 0

    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        check_logits(fake_logits, self.num_heads, "fake")
        adv = mean_bce_with_logits(fake_logits, 1.0)
        terms = {"g_adv": adv.detach()}
        if self.lambda_div == 0:
            return adv, terms
        if div_logits is None:
            raise ValueError("mmagan: lambda > 0 needs the D logits of the diversity batch (div_logits)")
        check_logits(div_logits, self.num_heads, "diversity batch")
        activations = mode_activations(div_logits)
        hinge = coverage_hinge(activations, self.tau)
        terms.update(
            g_div=hinge.detach(),
            heads_below_tau=(activations < self.tau).sum().detach().float(),
            min_activation=activations.min().detach(),
        )
        return adv + self.lambda_div * hinge, terms
