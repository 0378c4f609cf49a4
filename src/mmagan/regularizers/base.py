"""The seam between a regulariser and the training step.

A regulariser is a term on D's loss (phase "D") or G's (phase "G") that needs more than D's
logits: G itself, D's gradient, a pair of samples. It declares its phase and its interval; the
step adds those with interval 1 to its phase's loss, and runs those with a larger interval as
their own phase every `interval` iterations, with their own optimizer step and the penalty
multiplied by the interval (StyleGAN2's lazy regularisation: Dreg and Greg beside Dmain and Gmain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from mmagan.checks import Checks

Losses = tuple[Tensor, dict[str, Tensor]]
PHASES = ("D", "G")


@dataclass
class PhaseBatch:
    """What a phase's regularisers may use: G, D as a function of samples (`judge`, packing
    included), the phase's real batch, its latents and their fakes (with gradient in G's phase)."""

    generator: nn.Module
    judge: Callable[[Tensor], Tensor]
    real: Tensor
    z: Tensor
    fake: Tensor


class Regularizer(nn.Module):
    """A module (it may hold running statistics, checkpointed with the run) whose forward returns
    (the weighted penalty, figures to log as train/<name>)."""

    #: the top-level config block that configures it (and its registry name)
    name: str = "base"
    #: the loss it joins: "D" or "G"
    phase: str = "G"
    #: checks of the block's keys (<name>.<key>), run before training by config/validation.py
    checks: Checks = {}
    #: the fewest samples a phase must have for it (mode seeking pairs two halves of the batch)
    min_batch: int = 1
    #: whether it backpropagates through a gradient (torch.compile cannot; batch norm in D would
    #: mix the samples of a per-sample penalty)
    double_backward: bool = False
    #: whether it needs a style-based G (a w to differentiate with respect to)
    needs_style_based_g: bool = False
    #: the block's key that turns it on (a number > 0)
    weight_key: str = "weight"
    #: whether it is a mode-collapse remedy: the report then shows it in a run's label (e.g.
    #: "dcgan[ms.weight=1]"); a recipe's stabiliser (R1, path length) is not
    remedy: bool = False

    def __init__(self, interval: int = 1) -> None:
        super().__init__()
        self.interval = max(1, int(interval))

    @classmethod
    def weight_of(cls, block: Any, net: Any) -> float:
        """The block's weight for this net (0: off)."""
        return float(block.get(cls.weight_key, 0))

    @classmethod
    def from_block(cls, block: dict, net: Any) -> Regularizer:
        """The regulariser a (validated, plain) config block describes."""
        return cls(**block)

    @property
    def lazy(self) -> bool:
        return self.interval > 1

    def due(self, done: int) -> bool:
        """Whether a lazy one runs at the iteration that ends with `done` G steps."""
        return done % self.interval == 0

    def forward(self, batch: PhaseBatch) -> Losses:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(
            f"{k}={v}" for k, v in vars(self).items() if not k.startswith("_") and k != "training"
        )
