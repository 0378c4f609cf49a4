"""The seam between a generator regulariser and the training step."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from mmagan.checks import Checks

Losses = tuple[Tensor, dict[str, Tensor]]


class GRegularizer:
    """A term added to G's loss in every G step, from G, the step's latents and their fakes
    (with gradient). Figures it returns are logged as train/<name>."""

    #: the top-level config block that configures it (and its registry name)
    name: str = "base"
    #: checks of the block's keys (<name>.<key>), run before training by config/validation.py
    checks: Checks = {}
    #: the fewest samples a G step must have for it (mode seeking pairs two halves of the batch)
    min_batch: int = 1

    @classmethod
    def enabled(cls, block: Any) -> bool:
        """Whether the config block turns the regulariser on (e.g. a weight above 0)."""
        return float(block.get("weight", 0)) > 0

    def __call__(self, generator: nn.Module, z: Tensor, fake: Tensor) -> Losses:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in vars(self).items())})"
