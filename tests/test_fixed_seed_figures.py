"""Fixed-seed runs give the figures pinned in tests/pinned/fixed_seed_figures.json: a change to the
training step, the nets or the objectives that moves any number fails here. Regenerate the file
(MMAGAN_PIN_UPDATE=1 pytest tests/test_fixed_seed_figures.py) only for a change meant to move them,
and say which in the commit."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch
from helpers import TINY_STYLEGAN

from mmagan.train import train

PINNED = Path(__file__).parent / "pinned" / "fixed_seed_figures.json"
CASES = {
    "mmagan_ring": [
        "model=mmagan", "iterations=20", "seed=3", "model.ema.enabled=true", "model.ema.decay=0.9",
    ],
    "wgan_gp_ring": ["model=wgan_gp", "iterations=10", "seed=3"],
    # No lazy regulariser and no EMA ramp-up: the StyleGAN path whose numbers nothing may move.
    "stylegan_digits": [
        *TINY_STYLEGAN, "model=mmagan", "iterations=3", "seed=3", "r1.gamma=0", "pl.weight=0",
        "model.ema.enabled=true", "model.ema.decay=0.9", "eval.num_samples=32", "eval.batch_size=32",
    ],
}  # fmt: skip
UNTIMED = ("train_seconds",)


def figures(make_cfg, tmp_path: Path, case: str) -> dict[str, float]:
    """metrics.json's numbers and, per net, the sum of its final weights (EMA included)."""
    run = tmp_path / case
    got = train(make_cfg(*CASES[case], f"paths.data_dir={tmp_path / 'data'}", run_dir=run))
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    for net in ("generator", "discriminator", "generator_ema"):
        got[f"weights/{net}"] = sum(
            v.double().sum().item() for k, v in state.items() if k.startswith(net + ".")
        )
    return {k: float(v) for k, v in sorted(got.items()) if k not in UNTIMED and isinstance(v, (int, float))}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_fixed_seed_figures_stay_as_pinned(make_cfg, tmp_path, case):
    got = figures(make_cfg, tmp_path, case)
    pinned = json.loads(PINNED.read_text()) if PINNED.exists() else {}
    if os.environ.get("MMAGAN_PIN_UPDATE") == "1":
        PINNED.write_text(json.dumps({**pinned, case: got}, indent=1, sort_keys=True) + "\n")
        pytest.skip("pinned figures rewritten")
    assert case in pinned, f"no pinned figures for {case}: run with MMAGAN_PIN_UPDATE=1"
    assert got.keys() == pinned[case].keys()
    moved = {
        k: (pinned[case][k], v)
        for k, v in got.items()
        if not math.isclose(v, pinned[case][k], rel_tol=1e-6, abs_tol=1e-9)
    }
    assert not moved, f"{case}: figures moved (pinned, now): {moved}"
