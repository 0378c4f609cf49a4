"""Objective registry: config name -> class."""

from __future__ import annotations

from typing import Any

from mmagan.objectives.base import Objective
from mmagan.objectives.dcgan import DCGANObjective
from mmagan.objectives.gan import GANObjective
from mmagan.objectives.mmagan import MMAGANObjective
from mmagan.objectives.pacgan import PacGANObjective
from mmagan.objectives.wgan_gp import WGANGPObjective

OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls for cls in (GANObjective, DCGANObjective, WGANGPObjective, MMAGANObjective, PacGANObjective)
}


def build_objective(name: str, **kwargs: Any) -> Objective:
    if name not in OBJECTIVES:
        raise KeyError(f"unknown objective {name!r}; known: {sorted(OBJECTIVES)}")
    return OBJECTIVES[name](**kwargs)


__all__ = ["OBJECTIVES", "Objective", "build_objective"]
