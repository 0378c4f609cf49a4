"""Objective registry: config name -> class. A new GAN variant is one file with an Objective
subclass decorated with @register_objective (or listed below) plus one conf/model/<name>.yaml."""

from __future__ import annotations

from typing import Any

from mmagan.objectives.base import Objective
from mmagan.objectives.dcgan import DCGANObjective
from mmagan.objectives.gan import GANObjective
from mmagan.objectives.madgan import MADGANObjective
from mmagan.objectives.mmagan import MMAGANObjective
from mmagan.objectives.pacgan import PacGANObjective
from mmagan.objectives.unrolled import UnrolledObjective
from mmagan.objectives.veegan import VEEGANObjective
from mmagan.objectives.wgan_gp import WGANGPObjective
from mmagan.registry import Registry

#: model.objective.name -> Objective subclass.
OBJECTIVES: Registry[type[Objective]] = Registry("model.objective.name")


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Make an Objective subclass selectable as model.objective.name=<cls.name>; its `checks` and
    constructor arguments are all the validation needs."""
    return OBJECTIVES.add(cls.name, cls)


for _cls in (
    GANObjective,
    DCGANObjective,
    WGANGPObjective,
    MMAGANObjective,
    PacGANObjective,
    UnrolledObjective,
    MADGANObjective,
    VEEGANObjective,
):
    register_objective(_cls)


def role_of(name: str) -> str:
    """A method's part in a study (Objective.role); "baseline" for one this installation lacks."""
    return getattr(OBJECTIVES.get(name), "role", "baseline")


def build_objective(name: str, **kwargs: Any) -> Objective:
    """The objective `name` with its config parameters (the `model.objective` block)."""
    return OBJECTIVES.pick(name)(**kwargs)


__all__ = ["OBJECTIVES", "Objective", "build_objective", "register_objective", "role_of"]
