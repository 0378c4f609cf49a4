"""OmegaConf resolvers that mmagan's configs use, registered in one place."""

from __future__ import annotations

from omegaconf import OmegaConf

from mmagan.runs.job_names import job_dirname
from mmagan.runs.ray_resources import gpus_per_job

RESOLVERS = {
    # conf/hydra/default.yaml: one sweep job folder per set of overrides.
    "mmagan_job_dirname": lambda overrides: job_dirname(overrides or ()),
    # conf/launcher/ray.yaml: a job asks Ray for the GPUs its trainer uses (none on the CPU).
    "mmagan_gpus_per_job": gpus_per_job,
}


def register_resolvers() -> None:
    """Idempotent: every entry point and every launcher worker may call it."""
    for name, fn in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
