"""Generator regularisers: mode seeking by hand computation, and the seam a new one plugs into."""

import math

import pytest
import torch

from mmagan.build import build
from mmagan.regularizers import REGULARIZERS, PhaseBatch, Regularizer, build_regularizers
from mmagan.regularizers.mode_seeking import ModeSeeking


def test_mode_seeking_matches_hand_computation():
    z = torch.tensor([[0.0, 1.0], [2.0, -1.0], [1.0, 1.0], [0.0, 0.0]])
    fake = torch.tensor([[1.0, 2.0], [0.5, 0.5], [3.0, 2.0], [0.5, 1.5]], requires_grad=True)
    # pairs (0, 2) and (1, 3): samples |1-3|,|2-2|,|0.5-0.5|,|0.5-1.5| -> 3/4; latents 1,0,2,1 -> 1
    ratio = (2 + 0 + 0 + 1) / 4 / ((1 + 0 + 2 + 1) / 4)
    loss, terms = ModeSeeking(weight=2.0, eps=1e-5)(PhaseBatch(None, None, None, z, fake))
    assert terms["ms_ratio"].item() == pytest.approx(ratio)
    assert loss.item() == pytest.approx(2.0 / (ratio + 1e-5))
    loss.backward()
    assert fake.grad[0, 0] > 0 and fake.grad[2, 0] < 0  # pulled apart: the loss falls as they part
    odd = torch.cat([fake.detach(), torch.zeros(1, 2)])  # an odd batch leaves its last sample out
    (_, terms) = ModeSeeking(1.0)(PhaseBatch(None, None, None, torch.cat([z, torch.ones(1, 2)]), odd))
    assert terms["ms_ratio"].item() == pytest.approx(ratio)


def test_ms_weight_works_with_any_objective_and_is_refused_where_it_cannot(make_cfg):
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    for model in ("dcgan", "mmagan", "wgan_gp", "pacgan"):
        cfg = make_cfg(f"model={model}", "ms.weight=1")
        validate_config(cfg)
        (ms,) = build_regularizers(cfg)
        assert isinstance(ms, ModeSeeking) and ms.weight == 1.0
    assert build_regularizers(make_cfg()) == []  # weight 0: off
    with pytest.raises(ConfigError, match=r"ms.weight=-1 is invalid: must be a number >= 0"):
        validate_config(make_cfg("ms.weight=-1"))
    with pytest.raises(
        ConfigError, match=r"ms.weight=1 needs at least 2 samples per G step, but data.batch_size=1"
    ):
        validate_config(make_cfg("ms.weight=1", "data.batch_size=1"))
    with pytest.raises(ConfigError, match=r"ms.wieght is not a known key"):
        validate_config(make_cfg("+ms.wieght=1"))


def test_a_regulariser_defined_here_is_picked_up_from_config_and_trains(make_cfg, monkeypatch):
    """A sample-norm penalty registered in the test: configured by its own block, validated by its
    checks, called in every G step with G's fakes, its figure logged; nothing else added."""
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    calls = []

    class SampleNorm(Regularizer):
        name = "sample_norm"
        checks = {"weight": (lambda v: isinstance(v, float) and v >= 0, "a number >= 0")}

        def __init__(self, weight: float = 0.0) -> None:
            super().__init__(interval=1)
            self.weight = weight

        def forward(self, batch):
            calls.append(batch.fake.shape[0])
            norm = batch.fake.pow(2).sum(1).mean()
            return self.weight * norm, {"sample_norm": norm.detach()}

    monkeypatch.setitem(REGULARIZERS, "sample_norm", SampleNorm)
    with pytest.raises(ConfigError, match=r"sample_norm.weight=-2.0 is invalid"):
        validate_config(make_cfg("+sample_norm.weight=-2.0"))
    run = build(make_cfg("+sample_norm.weight=0.5", "iterations=5", "trainer.log_every_n_steps=5"))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert calls == [50] * 5
    assert math.isfinite(run.module.train_figures["train/sample_norm"])


def test_a_remedy_outside_the_objective_is_a_row_of_its_own_in_the_report(tmp_path):
    import json

    import yaml

    from mmagan.report.tables import build_rows
    from mmagan.runs.listing import read_run

    def run(name, **extra):
        folder = tmp_path / name
        (folder / ".hydra").mkdir(parents=True)
        cfg = {"seed": 0, "data": {"name": "ring"}, "model": {"objective": {"name": "dcgan"}}, **extra}
        (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
        (folder / "metrics.json").write_text(json.dumps({"finished": 1, "modes/modes": 7.0}))
        return read_run(folder)

    plain = run("plain", ms={"weight": 0.0, "eps": 1e-5}, net={"d_minibatch": "none"})
    ms = run("ms", ms={"weight": 1.0, "eps": 1e-5}, net={"d_minibatch": "none"})
    both = run("both", ms={"weight": 1.0, "eps": 1e-5}, net={"d_minibatch": "discrimination"})
    assert (plain.params, ms.params, both.params) == (
        "",
        "ms.weight=1",
        "ms.weight=1,net.d_minibatch=discrimination",
    )
    labels = sorted(r.label for r in build_rows([plain, ms, both], ["modes/modes"]))
    assert labels == ["dcgan", "dcgan[ms.weight=1,net.d_minibatch=discrimination]", "dcgan[ms.weight=1]"]
