"""Unrolled GAN (Metz, Poole, Pfau, Sohl-Dickstein, ICLR 2017).

G descends f(theta_G, theta_D^k): the GAN value against D unrolled k gradient steps ahead,
theta_D^{i+1} = theta_D^i - lr * d L_D(theta_D^i) / d theta_D^i, differentiating through the k
updates (the second-order terms are what keep G from chasing D's current maximum). D itself takes
only its ordinary step. The unrolled steps are plain gradient steps on D's loss for this
iteration's real batch and G's fakes (see conf/model/unrolled.yaml for why not Adam's).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from mmagan.checks import Checks, _is_number, int_at_least
from mmagan.objectives.dcgan import DCGANObjective


def unrolled_parameters(
    discriminator: nn.Module,
    d_loss: Callable[[Tensor, Tensor], Tensor],
    judge: Callable[[dict, Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    steps: int,
    lr: float,
) -> dict[str, Tensor]:
    """D's parameters after `steps` gradient steps of size `lr` on d_loss(D(real), D(fake)), as
    tensors that depend on `fake` (and so on G) through every step."""
    # theta_D^0 is a constant for G: D's own parameters, detached and made differentiable here.
    params = {name: p.detach().requires_grad_(True) for name, p in discriminator.named_parameters()}
    with torch.enable_grad():  # also under no_grad (a finite-difference check): the steps need D's gradient
        for _ in range(steps):
            loss = d_loss(judge(params, real), judge(params, fake))
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
            params = {name: p - lr * g for (name, p), g in zip(params.items(), grads)}
    return params


class UnrolledObjective(DCGANObjective):
    """The non-saturating GAN loss, G's taken against D unrolled `unroll_steps` steps ahead."""

    name = "unrolled"
    role = "remedy"
    checks: Checks = {
        "unroll_steps": (int_at_least(0), "an integer >= 0 (0: the plain GAN)"),
        "unroll_lr": (lambda v: _is_number(v) and v > 0, "a number > 0"),
    }

    def __init__(self, unroll_steps: int = 5, unroll_lr: float = 1e-2) -> None:
        super().__init__()
        self.unroll_steps, self.unroll_lr = int(unroll_steps), float(unroll_lr)

    def g_judge(
        self, discriminator: nn.Module, judge: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor
    ) -> Callable[[Tensor], Tensor]:
        if self.unroll_steps == 0:
            return judge
        params, at = self.unrolled(discriminator, real, fake)
        return lambda x: at(params, x)

    def unrolled(
        self, discriminator: nn.Module, real: Tensor, fake: Tensor
    ) -> tuple[dict[str, Tensor], Callable[[dict, Tensor], Tensor]]:
        """D's unrolled parameters, and D as a function of (parameters, samples)."""
        # Batch-norm statistics the unrolled passes would update are copies: D's own stay as its
        # ordinary step left them.
        buffers = {name: b.clone() for name, b in discriminator.named_buffers()}

        def at(params: dict, x: Tensor) -> Tensor:
            return functional_call(discriminator, (params, buffers), (self.pack(x),))

        loss = lambda r, f: self.d_loss(r, f)[0]  # noqa: E731
        return unrolled_parameters(discriminator, loss, at, real, fake, self.unroll_steps, self.unroll_lr), at
