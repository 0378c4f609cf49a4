"""Shared fixtures. Not a package: torch-fidelity installs a top-level `tests` (importlib mode)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import TINY_STACKED_DIGITS, tiny_config

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt for the test, as in a terminal: a shell that starts pytest in
    the background (`cmd &`, nohup) has set it to be ignored, and Python then keeps it ignored."""
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture
def make_cfg(tmp_path: Path):
    """`tiny_config` writing into tmp_path/run unless told otherwise."""

    def make(*overrides: str, run_dir: Path | None = None):
        return tiny_config(*overrides, run_dir=run_dir or tmp_path / "run")

    return make


@pytest.fixture(scope="session")
def trained_digits_run(tmp_path_factory) -> Path:
    """The folder of one short MMA-GAN run on the stacked digits (DCGAN nets, 3 iterations),
    trained once for every test that reads a training checkpoint (mmagan-eval, the inspection
    commands). Tests add files to it (eval/, their own outputs) but never change what training wrote."""
    from mmagan.train import train

    tmp = tmp_path_factory.mktemp("trained_digits")
    small = ["iterations=3", "eval.num_samples=32", "eval.batch_size=32", f"paths.data_dir={tmp / 'data'}"]
    train(tiny_config(*TINY_STACKED_DIGITS, *small, run_dir=tmp / "run"))
    return tmp / "run"
