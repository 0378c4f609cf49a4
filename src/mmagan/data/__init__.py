"""DataModule registry: the `data` config group's `name` -> constructor."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from mmagan.data.base import GANDataModule
from mmagan.data.celeba_hq import CelebAHQDataModule
from mmagan.data.cifar10 import CIFAR10DataModule
from mmagan.data.stacked import STACKED, StackedDigitsDataModule
from mmagan.data.toy import MIXTURES, ToyDataModule
from mmagan.registry import Registry

#: data.name -> DataModule class (its constructor takes the `data` block's keys).
DATASETS: Registry[type[GANDataModule]] = Registry("data.name")
for _name in MIXTURES:
    DATASETS.add(_name, ToyDataModule)
for _name in STACKED:
    DATASETS.add(_name, StackedDigitsDataModule)
DATASETS.add("cifar10", CIFAR10DataModule)
DATASETS.add("celeba_hq", CelebAHQDataModule)


def training_data(cfg: Any) -> GANDataModule:
    """The `data` block's DataModule, prepared and set up: what evaluation and inspection read
    (reference images, the training set) outside a training run."""
    datamodule = build_datamodule(cfg, batches_per_step=1)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def build_datamodule(cfg: Any, batches_per_step: int, device_data: bool = False) -> GANDataModule:
    """The DataModule the `data` block names; `batches_per_step` batches per training step (the
    objective's D steps), optionally kept on the training device (`device_data`)."""
    kwargs = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    return DATASETS.pick(kwargs["name"])(**kwargs, batches_per_step=batches_per_step, device_data=device_data)
