"""A Ray sweep must not wait forever for resources this machine does not have.

Ray queues a task whose request no node can fill and only prints "No available node types can
fulfill resource request" every half minute; a sweep asking for a GPU on a machine without one would
hang. With a local Ray (no cluster address), the request is compared with the machine before any
job starts.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf


def gpus_per_job(accelerator: str, devices: Any) -> float:
    """The GPUs one job asks Ray for: none for a CPU trainer, else the trainer's device count."""
    if str(accelerator) == "cpu":
        return 0
    return int(devices) if isinstance(devices, int) and devices > 0 else 1


def local_ray_shortfall(launcher: DictConfig, gpus_here: int, cpus_here: int) -> str | None:
    """One line naming what a local Ray cannot give one job, or None when it fits."""
    init, remote = launcher.ray.init, launcher.ray.remote
    if init.get("address"):
        return None  # a cluster: its nodes, not this machine, decide
    gpus = init.get("num_gpus") if init.get("num_gpus") is not None else gpus_here
    cpus = init.get("num_cpus") if init.get("num_cpus") is not None else cpus_here
    want_gpus, want_cpus = remote.get("num_gpus") or 0, remote.get("num_cpus") or 0
    if want_gpus > gpus:
        return (
            f"hydra.launcher.ray.remote.num_gpus={want_gpus} is more than this machine's Ray has "
            f"({gpus} GPUs): use trainer=cpu (which asks for none), a fraction such as 0.25, or a "
            "Ray cluster (hydra.launcher.ray.init.address)"
        )
    if want_cpus > cpus:
        return (
            f"hydra.launcher.ray.remote.num_cpus={want_cpus} is more than this machine's Ray has "
            f"({cpus} CPUs)"
        )
    return None


class RayRequestCheck(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        launcher = OmegaConf.select(config, "hydra.launcher")
        if launcher is None or not str(launcher.get("_target_", "")).endswith("RayLauncher"):
            return
        import torch

        problem = local_ray_shortfall(launcher, torch.cuda.device_count(), os.cpu_count() or 1)
        if problem:
            print(f"config error: {problem}", file=sys.stderr)
            sys.exit(2)
