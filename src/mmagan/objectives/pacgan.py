"""Lin et al. (2018), PacGAN: D judges m samples at once, all real or all fake, with the
non-saturating loss. A collapsed G's packs look alike, which D learns to spot."""

from __future__ import annotations

from torch import Tensor

from mmagan.checks import Checks, int_at_least
from mmagan.objectives.dcgan import DCGANObjective


class PacGANObjective(DCGANObjective):
    """The non-saturating loss on packs of `packing` samples: D's input stacks m samples along
    the channels (`pack`); the nets take m times the data's channels."""

    name = "pacgan"
    report_columns = ("packing",)
    checks: Checks = {"packing": (int_at_least(1), "an integer >= 1 (m; PacGAN used 2, 3 and 4)")}

    def __init__(self, packing: int = 2) -> None:
        super().__init__()
        self.packing = int(packing)

    def pack(self, x: Tensor) -> Tensor:
        """(B, C, ...) -> (B/m, m*C, ...): consecutive groups of m samples, concatenated along the
        feature (or channel) axis, as PacGAN's D input."""
        b, m = x.shape[0], self.packing
        if b % m:
            raise ValueError(f"pacgan: a batch of {b} samples does not split into packs of {m}")
        return x.reshape(b // m, m * x.shape[1], *x.shape[2:])
