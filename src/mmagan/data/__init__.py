"""DataModule registry: the `data` config group's `name` -> constructor."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from mmagan.data.base import GANDataModule
from mmagan.data.celeba_hq import CelebAHQDataModule
from mmagan.data.cifar10 import CIFAR10DataModule
from mmagan.data.stacked import STACKED, StackedDigitsDataModule
from mmagan.data.toy import MIXTURES, ToyDataModule

DATASETS: dict[str, type[GANDataModule]] = {
    **{name: ToyDataModule for name in MIXTURES},
    **{name: StackedDigitsDataModule for name in STACKED},
    "cifar10": CIFAR10DataModule,
    "celeba_hq": CelebAHQDataModule,
}


def build_datamodule(cfg: Any, batches_per_step: int, device_data: bool = False) -> GANDataModule:
    kwargs = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    name = kwargs["name"]
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; known: {sorted(DATASETS)}")
    return DATASETS[name](
        **kwargs,
        batches_per_step=batches_per_step,
        device_data=device_data,
    )
