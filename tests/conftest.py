"""Shared fixtures. Not a package: torch-fidelity installs a top-level `tests` (importlib mode)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import TINY, TINY_MLP

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture
def make_cfg(tmp_path: Path):
    """compose('train') with tiny settings, writing into tmp_path/run unless told otherwise."""
    from mmagan.config import compose

    def make(*overrides: str, run_dir: Path | None = None):
        out = run_dir or tmp_path / "run"
        nets = [] if any(o.startswith("net=") for o in overrides) else TINY_MLP
        return compose("train", [*TINY, *nets, f"paths.output_dir={out}", *overrides])

    return make
