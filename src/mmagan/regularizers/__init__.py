"""Generator regularisers chosen by config: each is a class registered under the name of its
top-level config block (e.g. `ms:` for mode seeking), with the checks of that block and an
`enabled` rule. The training step calls every enabled one in G's phase with G, the latents and
their fakes; a new regulariser is one file here plus its config block in conf/train.yaml."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from mmagan.registry import Registry
from mmagan.regularizers.base import GRegularizer
from mmagan.regularizers.mode_seeking import ModeSeeking

#: config block name -> GRegularizer subclass.
REGULARIZERS: Registry[type[GRegularizer]] = Registry("regulariser")


def register_regularizer(cls: type[GRegularizer]) -> type[GRegularizer]:
    """Make a regulariser configurable by its top-level block `<cls.name>:`."""
    return REGULARIZERS.add(cls.name, cls)


register_regularizer(ModeSeeking)


def build_regularizers(cfg: Any) -> list[GRegularizer]:
    """The enabled regularisers of a (validated) run config, in registration order."""
    built = []
    for name, cls in REGULARIZERS.items():
        block = OmegaConf.select(cfg, name)
        if block is not None and cls.enabled(block):
            built.append(cls(**OmegaConf.to_container(block, resolve=True)))
    return built


__all__ = ["REGULARIZERS", "GRegularizer", "build_regularizers", "register_regularizer"]
