"""Adam for a net with a lazy regulariser (StyleGAN2's lazy regularisation)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import torch

log = logging.getLogger("mmagan")

#: trainer.speed.optimizer -> torch.optim.Adam's implementation switch.
IMPLS = {"fused": {"fused": True}, "foreach": {"foreach": True}, "single": {"foreach": False}}


def lazy_ratio(intervals: Sequence[int]) -> float:
    """c = I / (I + 1) for a regulariser that takes its own step every I iterations (I + 1 steps in
    I iterations); 1 without one. With several, the shortest interval's (validation allows one)."""
    return min(intervals) / (min(intervals) + 1) if intervals else 1.0


def lazy_adam(
    params: Iterable[torch.nn.Parameter],
    lr: float,
    betas: Sequence[float],
    impl: str,
    intervals: Sequence[int],
) -> torch.optim.Adam:
    """Adam with lr x c and betas ** c (c = lazy_ratio): StyleGAN2's correction, so that the
    optimizer's time constants stay those of one step per iteration although the regulariser's
    phase adds steps."""
    c = lazy_ratio(intervals)
    lazy_betas = tuple(b**c for b in betas)
    if c != 1.0:
        log.info(
            "lazy regularisation: Adam lr %.4g -> %.4g, betas %s -> %s", lr, lr * c, tuple(betas), lazy_betas
        )
    return torch.optim.Adam(params, lr=lr * c, betas=lazy_betas, **IMPLS[impl])
