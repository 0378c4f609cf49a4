"""The moving average of G's weights that evaluation and snapshots use (StyleGAN2-ADA's G_ema)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mmagan.module_settings import EmaSettings


class GeneratorAverage:
    """Updates an average copy of G after each G step, on the device (no host read)."""

    def __init__(self, settings: EmaSettings) -> None:
        self.settings = settings
        self._lists: tuple[list[Tensor], ...] | None = None

    def beta(self, done: int) -> float:
        """The decay after the `done`-th G step: `decay`, or StyleGAN2-ADA's 0.5 ** (B / half-life)
        with the half-life at most `rampup` x the images seen before that step, (done - 1) x B, as
        the official loop counts them (its image counter moves after the average)."""
        s = self.settings
        if s.half_life_kimg is None:
            return s.decay
        half_life = s.half_life_kimg * 1000
        if s.rampup is not None:
            half_life = min(half_life, (done - 1) * s.images_per_iteration * s.rampup)
        return 0.5 ** (s.images_per_iteration / max(half_life, 1e-8))

    def forget_tensors(self) -> None:
        """The nets moved (device or memory format): list their tensors again."""
        self._lists = None

    @torch.no_grad()
    def update(self, average: nn.Module, generator: nn.Module, done: int) -> None:
        """Float parameters lerped towards G's; buffers (batch norm statistics, StyleGAN's w_avg and
        noise) copied, as StyleGAN2's code does. Until `start_iteration` (and at the first G step)
        the average is a copy of G."""
        if self._lists is None:  # the same tensors every step: listed once
            self._lists = (
                list(average.parameters()),
                list(generator.parameters()),
                list(average.buffers()),
                list(generator.buffers()),
            )
        ema, src, ema_buffers, buffers = self._lists
        copy = done <= max(self.settings.start_iteration, 1)
        weight = 1.0 if copy else 1.0 - self.beta(done)
        # torch has no public list-wise lerp; _foreach_lerp_ is what AveragedModel's own EMA uses.
        torch._foreach_lerp_(ema, src, weight)
        torch._foreach_copy_(ema_buffers, buffers)
