"""StyleGAN2's path-length regulariser (Karras et al. 2020): the Jacobian of G's image with respect
to w, applied to a random image-space direction, should have the same length for every w. It needs
a style-based G (a w)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmagan.checks import Checks, _is_number, int_at_least
from mmagan.regularizers.base import Losses, PhaseBatch, Regularizer


def path_length_penalty(
    generator: nn.Module, z: Tensor, pl_mean: Tensor, decay: float
) -> tuple[Tensor, Tensor, Tensor]:
    """(mean (|J_w^T y| - a)^2, the updated running mean a, the lengths |J_w^T y| per sample).

    y is image-space noise scaled by 1 / sqrt(H W), J_w the Jacobian of G's image with respect to
    its ws (style mixing included, as in the official code), |.| the root of the squared norm
    summed over w's width and averaged over the ws. a moves towards the batch's mean length by
    `decay`; as in the official code the gradient flows through that batch mean inside a (the
    caller stores a detached). The gradient stays in the graph (G learns it).
    """
    ws = generator.training_ws(z)
    images = generator.synthesize(ws)
    noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.square().sum(2).mean(1).sqrt()
    new_mean = pl_mean.lerp(lengths.mean(), decay)
    return (lengths - new_mean).square().mean(), new_mean, lengths


class PathLength(Regularizer):
    name = "pl"
    phase = "G"
    double_backward = True
    needs_style_based_g = True
    checks: Checks = {
        "weight": (lambda v: v == "auto" or (_is_number(v) and v >= 0), "auto or a number >= 0 (0: off)"),
        "interval": (int_at_least(1), "an integer >= 1 (1: in every G step)"),
        "batch_shrink": (int_at_least(1), "an integer >= 1"),
        "decay": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    }

    def __init__(
        self, weight: float = 0.0, interval: int = 4, batch_shrink: int = 2, decay: float = 0.01
    ) -> None:
        super().__init__(interval)
        self.weight, self.batch_shrink, self.decay = float(weight), max(1, int(batch_shrink)), float(decay)
        # the running mean of path lengths: checkpointed, updated on the device
        self.register_buffer("mean", torch.zeros(()))

    @classmethod
    def weight_of(cls, block, net) -> float:
        """`auto`: StyleGAN2's 2 for a style-based G with modulated convolutions, else 0."""
        if block.get("weight", 0) == "auto":
            from mmagan.nets import NETS

            kind = NETS.get(net.get("name"))
            return (
                2.0 if kind is not None and kind.style_based and net.get("style_mode") == "modulated" else 0.0
            )
        return float(block["weight"])

    @classmethod
    def from_block(cls, block: dict, net) -> PathLength:
        return cls(**{**block, "weight": cls.weight_of(block, net)})

    def forward(self, batch: PhaseBatch) -> Losses:
        z = batch.z[: max(1, batch.z.shape[0] // self.batch_shrink)]
        penalty, new_mean, _ = path_length_penalty(batch.generator, z, self.mean, self.decay)
        self.mean.copy_(new_mean.detach())
        return penalty * self.weight, {"pl_penalty": penalty.detach(), "pl_mean": new_mean.detach()}
