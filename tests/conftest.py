"""Shared fixtures. Not a package: torch-fidelity installs a top-level `tests` (importlib mode)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import TINY, TINY_MLP, TINY_STACKED_DIGITS

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
    """compose('train') with tiny settings, writing into tmp_path/run unless told otherwise."""
    from mmagan.config import compose

    def make(*overrides: str, run_dir: Path | None = None):
        out = run_dir or tmp_path / "run"
        nets = [] if any(o.startswith("net=") for o in overrides) else TINY_MLP
        return compose("train", [*TINY, *nets, f"paths.output_dir={out}", *overrides])

    return make


@pytest.fixture(scope="session")
def trained_digits_run(tmp_path_factory) -> Path:
    """The folder of one short MMA-GAN run on the stacked digits (DCGAN nets, 3 iterations),
    trained once for every test that reads a training checkpoint (mmagan-eval, the inspection
    commands). Tests add files to it (eval/, their own outputs) but never change what training wrote."""
    from mmagan.config import compose
    from mmagan.train import train

    tmp = tmp_path_factory.mktemp("trained_digits")
    cfg = compose(
        "train",
        [*TINY_STACKED_DIGITS, "iterations=3", "eval.num_samples=32", "eval.batch_size=32",
         f"paths.data_dir={tmp / 'data'}", f"paths.output_dir={tmp / 'run'}"],
    )  # fmt: skip
    train(cfg)
    return tmp / "run"
