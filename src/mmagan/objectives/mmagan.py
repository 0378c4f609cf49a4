"""MMA-GAN: K sigmoid "mode activation" heads and a mode-coverage hinge for the generator.

The paper's objective is the default. Three options change one term each, for heads that are made
to specialise (docs/results.md measures them):

- `real_assignment`: `shared` (every head is trained on every real sample, the paper) or
  `balanced` (each real sample trains one head, about B / K samples per head, the real term
  scaled by 1 / K so that reals do not outweigh fakes K-fold);
- `g_adversarial`: `mean` over heads (the paper) or `best_head`, -log max_k D_k(G(z)): a fake
  must fool one head, not all of them, which specialised heads make impossible;
- `hinge`: `absolute`, max(0, tau - A_k) (the paper), or `relative`,
  max(0, log(tau * Abar_k) - log A_k) with Abar_k a running mean of head k's activation on reals:
  a head that fires on one mode of K can reach about 1 / K on fakes, below any useful fixed tau;
  or `smooth`, (1 / beta) softplus(beta (tau - A_k)): no kink at tau, so heads above the floor
  still feel a push that fades with their margin (large beta recovers the paper's hinge).

And one replaces the threshold altogether:

- `diversity`: `hinge` (the paper: one of the hinges above) or `usage_entropy`, minus the entropy
  of the heads' mean softmax over the diversity batch: maximal when the fakes spread evenly over
  the K heads, with no tau to choose (the paper's future work asks for a loss without one).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from mmagan.checks import Checks, _is_number, int_at_least, number_in, one_of
from mmagan.objectives.base import Losses, check_logits, mean_bce_with_logits
from mmagan.objectives.dcgan import DCGANObjective
from mmagan.objectives.head_assignment import balanced_assignment

REAL_ASSIGNMENTS = ("shared", "balanced")
G_ADVERSARIALS = ("mean", "best_head")
HINGES = ("absolute", "relative", "smooth")
DIVERSITIES = ("hinge", "usage_entropy")
SMOOTH_BETA = 20.0


def mode_activations(div_logits: Tensor) -> Tensor:
    """A_k: the mean sigmoid activation of each head over the diversity batch, shape (K,)."""
    return torch.sigmoid(div_logits).mean(dim=0)


def coverage_hinge(activations: Tensor, tau: float) -> Tensor:
    """sum_k max(0, tau - A_k): zero once every head fires on at least a tau share of fakes."""
    return torch.relu(tau - activations).sum()


def smooth_hinge(activations: Tensor, tau: float, beta: float) -> Tensor:
    """sum_k (1 / beta) softplus(beta (tau - A_k)): the hinge with its kink rounded off over about
    1 / beta; it tends to max(0, tau - A_k) as beta grows."""
    return (F.softplus(beta * (tau - activations)) / beta).sum()


def usage_entropy_loss(div_logits: Tensor) -> Tensor:
    """-H(mean_i softmax_k(l_ik)): minus the entropy of how the batch of fakes spreads over the K
    heads; -log K when every head takes an equal share, 0 when one head takes every sample."""
    usage = torch.softmax(div_logits, dim=1).mean(0)
    return (usage * torch.log(usage.clamp_min(1e-12))).sum()


def log_mode_activations(div_logits: Tensor) -> Tensor:
    """log A_k from logits (logsumexp of log sigmoid over the batch, minus log M): finite where a
    head's activations round to 0."""
    return torch.logsumexp(F.logsigmoid(div_logits), dim=0) - math.log(div_logits.shape[0])


def relative_hinge(log_activations: Tensor, real_means: Tensor, tau: float) -> Tensor:
    """sum_k max(0, log(tau * Abar_k) - log A_k): each head held to a tau share of what it fires on
    reals, not to tau itself."""
    return torch.relu(torch.log(tau * real_means) - log_activations).sum()


class MMAGANObjective(DCGANObjective):
    """L_D = -E_real[mean_k log D_k] - E_fake[mean_k log(1 - D_k)];
    L_G = -E_fake[mean_k log D_k] + lambda * sum_k max(0, tau - A_k).

    With K = 1 and lambda = 0 this is exactly the DCGAN objective.
    """

    name = "mmagan"
    sigmoid_heads = True
    role = "studied"
    report_columns = ("num_heads", "lambda_div", "tau")
    variant_options = ("real_assignment", "g_adversarial", "hinge", "smooth_beta", "diversity")
    checks: Checks = {
        "num_heads": (int_at_least(1), "an integer >= 1 (K)"),
        "tau": (number_in(0, 1, lo_open=True, hi_open=True), "a number with 0 < tau < 1"),
        "lambda_div": (lambda v: _is_number(v) and v >= 0, "a number >= 0 (lambda)"),
        "diversity_batch_size": (int_at_least(1), "an integer >= 1 (M)"),
        "real_assignment": (one_of(REAL_ASSIGNMENTS), f"one of {list(REAL_ASSIGNMENTS)}"),
        "g_adversarial": (one_of(G_ADVERSARIALS), f"one of {list(G_ADVERSARIALS)}"),
        "hinge": (one_of(HINGES), f"one of {list(HINGES)}"),
        "real_mean_decay": (number_in(0, 1, hi_open=True), "a number in [0, 1)"),
        "smooth_beta": (lambda v: _is_number(v) and v > 0, "a number > 0 (beta)"),
        "diversity": (one_of(DIVERSITIES), f"one of {list(DIVERSITIES)}"),
    }

    def __init__(
        self,
        num_heads: int = 8,
        lambda_div: float = 0.5,
        tau: float = 0.5,
        diversity_batch_size: int = 64,
        real_assignment: str = "shared",
        g_adversarial: str = "mean",
        hinge: str = "absolute",
        real_mean_decay: float = 0.9,
        smooth_beta: float = SMOOTH_BETA,
        diversity: str = "hinge",
    ) -> None:
        super().__init__()
        self.num_heads = int(num_heads)
        self.lambda_div = float(lambda_div)
        self.tau = float(tau)
        # With lambda = 0 the hinge has no effect: skip the extra M-sample forward pass.
        self.diversity_batch_size = int(diversity_batch_size) if self.lambda_div > 0 else 0
        for key, value, allowed in (
            ("real_assignment", real_assignment, REAL_ASSIGNMENTS),
            ("g_adversarial", g_adversarial, G_ADVERSARIALS),
            ("hinge", hinge, HINGES),
            ("diversity", diversity, DIVERSITIES),
        ):
            if value not in allowed:
                raise ValueError(f"mmagan: {key}={value!r} is invalid: must be one of {list(allowed)}")
        self.real_assignment, self.g_adversarial, self.hinge = real_assignment, g_adversarial, hinge
        self.real_mean_decay = float(real_mean_decay)
        self.smooth_beta, self.diversity = float(smooth_beta), diversity
        # Abar_k of the relative hinge: updated by each D step, on the device (no host read).
        self.real_means: Tensor | None = None

    @property
    def variant(self) -> str:
        """The options that differ from the paper's, e.g. 'balanced+best_head'; '' for the paper."""
        hinge = self.hinge if self.diversity == "hinge" else self.diversity
        if hinge == "smooth" and self.smooth_beta != SMOOTH_BETA:
            hinge = f"smooth(beta={self.smooth_beta:g})"
        chosen = (self.real_assignment, self.g_adversarial, hinge)
        return "+".join(c for c, paper in zip(chosen, ("shared", "mean", "absolute")) if c != paper)

    # ------------------------------------------------------------------------------------------ D
    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Losses:
        check_logits(real_logits, self.num_heads, "real")
        check_logits(fake_logits, self.num_heads, "fake")
        if self.hinge == "relative" and self.diversity == "hinge":
            self._track_real_means(real_logits)
        if self.real_assignment == "shared":
            real = mean_bce_with_logits(real_logits, 1.0)
        else:
            heads = balanced_assignment(real_logits)
            # -(1/B) sum_i (1/K) log D_a(i)(x_i)
            real = F.softplus(-real_logits.gather(1, heads.unsqueeze(1))).mean() / self.num_heads
        fake = mean_bce_with_logits(fake_logits, 0.0)
        return real + fake, {"d_real": real.detach(), "d_fake": fake.detach()}

    @torch.no_grad()
    def _track_real_means(self, real_logits: Tensor) -> None:
        batch = torch.sigmoid(real_logits.detach().float()).mean(0)
        if self.real_means is None:
            self.real_means = batch.clone()
        else:
            self.real_means = self.real_means.to(batch.device).lerp_(batch, 1.0 - self.real_mean_decay)

    def state_dict(self) -> dict[str, Tensor]:
        """What a checkpoint keeps for an exact resume: the relative hinge's running means."""
        return {} if self.real_means is None else {"real_means": self.real_means.detach().cpu()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.real_means = state.get("real_means")

    # ------------------------------------------------------------------------------------------ G
    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        check_logits(fake_logits, self.num_heads, "fake")
        if self.g_adversarial == "mean":
            adv = mean_bce_with_logits(fake_logits, 1.0)
        else:  # -log max_k sigmoid(l_k) = softplus(-max_k l_k)
            adv = F.softplus(-fake_logits.amax(dim=1)).mean()
        terms = {"g_adv": adv.detach()}
        if self.lambda_div == 0:
            return adv, terms
        if div_logits is None:
            raise ValueError("mmagan: lambda > 0 needs the D logits of the diversity batch (div_logits)")
        check_logits(div_logits, self.num_heads, "diversity batch")
        if self.diversity == "usage_entropy":
            hinge = usage_entropy_loss(div_logits)
        elif self.hinge == "absolute":
            hinge = coverage_hinge(mode_activations(div_logits), self.tau)
        elif self.hinge == "smooth":
            hinge = smooth_hinge(mode_activations(div_logits), self.tau, self.smooth_beta)
        else:
            if self.real_means is None:
                raise ValueError("mmagan: hinge='relative' needs a D step (the reals' running means) first")
            hinge = relative_hinge(log_mode_activations(div_logits), self.real_means, self.tau)
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
