"""Regularisers chosen by config: each is a class registered under the name of its top-level
config block (`r1:`, `pl:`, `ms:`), with the checks of that block. The training step runs every
enabled one in its phase (regularizers/base.py); a new regulariser is one file here plus its
config block in conf/train.yaml, or a class registered with `register_regularizer` from anywhere."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from mmagan.registry import Registry
from mmagan.regularizers.base import PHASES, PhaseBatch, Regularizer
from mmagan.regularizers.mode_seeking import ModeSeeking
from mmagan.regularizers.path_length import PathLength
from mmagan.regularizers.r1 import R1

#: config block name -> Regularizer subclass.
REGULARIZERS: Registry[type[Regularizer]] = Registry("regulariser")


def register_regularizer(cls: type[Regularizer]) -> type[Regularizer]:
    """Make a regulariser configurable by its top-level block `<cls.name>:`."""
    return REGULARIZERS.add(cls.name, cls)


for _cls in (R1, PathLength, ModeSeeking):
    register_regularizer(_cls)


def enabled_blocks(cfg: Any) -> list[tuple[type[Regularizer], Any]]:
    """(class, config block) of every regulariser the config turns on, in registration order."""
    picked = []
    for name, cls in REGULARIZERS.items():
        block = OmegaConf.select(cfg, name)
        if block is not None and cls.weight_of(block, cfg.net) > 0:
            picked.append((cls, block))
    return picked


def build_regularizers(cfg: Any, objective: Any = None) -> list[Regularizer]:
    """The enabled regularisers of a (validated) run config, then the objective's own."""
    built = [
        cls.from_block(OmegaConf.to_container(block, resolve=True), cfg.net)
        for cls, block in enabled_blocks(cfg)
    ]
    return built + (list(objective.regularizers()) if objective is not None else [])


__all__ = [
    "PHASES",
    "REGULARIZERS",
    "PhaseBatch",
    "Regularizer",
    "build_regularizers",
    "register_regularizer",
]
