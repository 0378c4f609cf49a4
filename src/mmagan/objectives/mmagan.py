"""MMA-GAN: K sigmoid "mode activation" heads and a mode-coverage hinge for the generator."""

from __future__ import annotations

import math

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
        terms["g_div"] = hinge.detach()
        return adv + self.lambda_div * hinge, terms

    @torch.no_grad()
    def diagnostics(
        self, real_logits: Tensor, fake_logits: Tensor, div_logits: Tensor | None
    ) -> dict[str, Tensor]:
        """Whether the heads specialise, the method's premise: each head's A_k on fakes and reals,
        heads under tau, how evenly fakes spread over the heads, and how alike the heads respond."""
        fake = torch.sigmoid(div_logits if div_logits is not None else fake_logits).float()
        real = torch.sigmoid(real_logits).float()
        a_fake, a_real = fake.mean(0), real.mean(0)
        figures = {f"heads/A_fake_{k}": a for k, a in enumerate(a_fake)}
        figures.update({f"heads/A_real_{k}": a for k, a in enumerate(a_real)})
        figures["heads_below_tau"] = (a_fake < self.tau).sum().float()
        figures["min_activation"] = a_fake.min()
        if self.num_heads > 1:
            figures["head_usage_entropy"] = head_usage_entropy(fake)
            figures["head_correlation"] = mean_head_correlation(fake)
        return figures


def head_usage_entropy(activations: Tensor) -> Tensor:
    """Entropy of which head fires most per sample, over log K: 1 when the samples spread evenly
    over the K heads, 0 when one head wins for every sample."""
    k = activations.shape[1]
    usage = torch.bincount(activations.argmax(1), minlength=k).float() / activations.shape[0]
    return -(usage * usage.clamp_min(1e-12).log()).sum() / math.log(k)


def mean_head_correlation(activations: Tensor) -> Tensor:
    """Mean Pearson correlation over pairs of heads across a batch (1: the heads are copies)."""
    k = activations.shape[1]
    corr = torch.corrcoef(activations.T).nan_to_num(0.0)
    return (corr.sum() - corr.diagonal().sum()) / (k * (k - 1))
