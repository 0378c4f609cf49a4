"""Objective registry: config name -> class. A new GAN variant is one file with an Objective
subclass decorated with @register_objective (or listed below) plus one conf/model/<name>.yaml."""

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


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Make an Objective subclass selectable as model.objective.name=<cls.name>; its `checks` and
    constructor arguments are all the validation needs."""
    if cls.name in OBJECTIVES and OBJECTIVES[cls.name] is not cls:
        raise KeyError(f"objective name {cls.name!r} is taken by {OBJECTIVES[cls.name].__name__}")
    OBJECTIVES[cls.name] = cls
    return cls


def build_objective(name: str, **kwargs: Any) -> Objective:
    if name not in OBJECTIVES:
        raise KeyError(f"unknown objective {name!r}; known: {sorted(OBJECTIVES)}")
    return OBJECTIVES[name](**kwargs)


__all__ = ["OBJECTIVES", "Objective", "build_objective", "register_objective"]
