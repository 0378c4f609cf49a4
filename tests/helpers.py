"""Helpers the tests import (tests/ is on pytest's pythonpath; it is not a package)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# Small nets and data so an end-to-end fit takes seconds on 2 cores.
TINY_MLP = ["net.g_hidden=[32,32]", "net.d_hidden=[32,32]", "net.d_maxout_pieces=2"]
# What every test run shares: no progress bar, CSV only, a log step every 5 iterations.
TINY_RUN = ["callbacks.progress_bar.refresh_rate=0", "logger=csv", "trainer.log_every_n_steps=5"]
TINY_EVAL = ["eval.num_samples=500", "eval.batch_size=250"]
# The default data (the ring), cut small.
TINY = ["data.num_samples=2000", "data.batch_size=50", *TINY_EVAL, *TINY_RUN]

# A short DCGAN run on the bundled 8x8 digits, stacked (no download, about a second).
TINY_STACKED_DIGITS = [
    "data=stacked_digits",
    "data.num_samples=200",
    "data.batch_size=16",
    "net=dcgan",
    "net.g_width=8",
    "net.d_width=8",
    "logger=csv",
    "callbacks.progress_bar.refresh_rate=0",
]

# Narrow DCGAN nets for any image data, four iterations with a validation every two.
TINY_DCGAN = ["net=dcgan", "net.g_width=8", "net.d_width=8", "iterations=4", "trainer.val_check_interval=2",
              "trainer.log_every_n_steps=2"]  # fmt: skip

# The same with a narrow style-based G and residual D (StyleGAN), 32 px.
TINY_STYLEGAN = [
    *[o for o in TINY_STACKED_DIGITS if not o.startswith("net")],
    "net=stylegan",
    "net.latent_dim=16",
    "net.w_dim=16",
    "net.mapping_depth=2",
    "net.channel_base=128",
    "net.channel_max=16",
    "net.d_channel_base=128",
    "net.d_channel_max=16",
]


def run_cli(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """mmagan-train as a user runs it, in a fresh process."""
    exe = Path(sys.executable).with_name("mmagan-train")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


# Image metrics without downloaded weights: the tiny extractor (tests/tiny_extractor.py) for
# FID/IS/KID, LPIPS (diversity and PPL) with a random AlexNet trunk.
OFFLINE_METRICS = [
    "fidelity.feature_extractor=tiny-test-extractor",
    "fidelity.feature_extractor_class=tiny_extractor.TinyExtractor",
    "fidelity.progress=false",
    "callbacks.lpips_diversity.random_trunk=true",
    "callbacks.ppl.random_trunk=true",
]


def inject_nan_g_loss(monkeypatch, at: int, *, onwards: bool = False) -> None:
    """MMA-GAN's generator loss turns NaN at its `at`-th call (and on every later one with
    `onwards`): how the tests provoke a diverging run."""
    from mmagan.objectives.mmagan import MMAGANObjective

    original, calls = MMAGANObjective.g_loss, []

    def g_loss(obj, *args, **kwargs):
        calls.append(1)
        loss, terms = original(obj, *args, **kwargs)
        bad = len(calls) >= at if onwards else len(calls) == at
        return (loss * float("nan"), terms) if bad else (loss, terms)

    monkeypatch.setattr(MMAGANObjective, "g_loss", g_loss)


class CountHostReads(TorchDispatchMode):
    """Counts host reads of tensors: `.item()`, `bool()`, `float()` and `.tolist()` all dispatch to
    `aten._local_scalar_dense`, on a GPU a round trip that stalls the queue."""

    def __init__(self):
        super().__init__()
        self.reads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.reads += 1
        return func(*args, **(kwargs or {}))


# .ci/run names the services CI must have (MMAGAN_REQUIRED_SERVICES=slurm,browser): there a test
# that cannot reach one fails; elsewhere it skips with its reason.
REQUIRED_SERVICES = "MMAGAN_REQUIRED_SERVICES"


def skip_unless_required(service: str, reason: str) -> None:
    """Skip the test for want of `service`, or fail it where the environment requires the service."""
    import pytest

    required = {s.strip() for s in os.environ.get(REQUIRED_SERVICES, "").split(",") if s.strip()}
    if service in required:
        pytest.fail(f"{service} is required here ({REQUIRED_SERVICES}) but unavailable: {reason}")
    pytest.skip(reason)


def tiny_config(*overrides: str, run_dir: Path):
    """compose('train') for a test, writing into `run_dir`: the one config factory of the suite.
    Quiet and small: the ring with small MLPs, unless the overrides name other data (then its own
    sizes, with small evaluations), other nets, or an experiment (whose protocol is then what is
    tested, so nothing of it is replaced)."""
    from mmagan.config import compose

    def names(prefix: str) -> bool:
        return any(o.startswith(prefix) for o in overrides)

    if names("experiment="):
        base = TINY_RUN
    elif names("data="):
        base = [*TINY_EVAL, *TINY_RUN]
    else:
        base = [*TINY, *([] if names("net=") else TINY_MLP)]
    return compose("train", [*base, f"paths.output_dir={run_dir}", *overrides])
