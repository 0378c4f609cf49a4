"""Short fits through the composed Hydra config, as `mmagan-train` runs them."""

import csv
import json

import pytest
import torch

from mmagan.errors import NonFiniteLossError
from mmagan.objectives.mmagan import MMAGANObjective
from mmagan.train import build, train


def read_metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def logged_steps(run_dir, key="train/loss_d"):
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get(key)]


def test_fit_on_the_ring_writes_every_output(make_cfg, tmp_path):
    cfg = make_cfg(
        "iterations=40",
        "trainer.val_check_interval=20",
        "callbacks.checkpoint.every_n_iterations=20",
        "callbacks.sample_snapshots.every_n_iterations=20",
    )
    figures = train(cfg)
    run = tmp_path / "run"
    metrics = read_metrics(run)
    assert metrics == pytest.approx(figures)
    assert metrics["iteration"] == 40 and metrics["finished"] == 1
    assert 0 <= metrics["modes/modes"] <= 8
    assert 0 <= metrics["modes/high_quality_pct"] <= 100
    assert metrics["modes/reverse_kl"] >= 0
    assert {"train/loss_d", "train/loss_g", "train/g_div"} <= set(metrics)
    ckpts = {p.name for p in (run / "checkpoints").iterdir()}
    assert {"iter0000020.ckpt", "iter0000040.ckpt", "last.ckpt"} <= ckpts
    assert (run / "samples" / "iter0000020.png").is_file()
    assert (run / "plots" / "modes_iter0000040.png").is_file()
    # Logged steps on the dashboards are generator iterations, not optimizer steps.
    assert max(logged_steps(run)) < 40


@pytest.mark.parametrize("model", ["gan", "dcgan", "wgan_gp"])
def test_baselines_fit(make_cfg, model):
    figures = train(make_cfg(f"model={model}", "iterations=6"))
    assert figures["iteration"] == 6
    assert all(v == v for v in figures.values())  # no NaN


def test_bf16_mixed_precision_on_cpu(make_cfg):
    figures = train(make_cfg("iterations=5", "trainer.precision=bf16-mixed"))
    assert figures["iteration"] == 5 and torch.isfinite(torch.tensor(figures["train/loss_g"]))


def test_resume_continues_the_iteration_count(make_cfg, tmp_path):
    first = tmp_path / "first"
    train(make_cfg("iterations=20", "callbacks.checkpoint.every_n_iterations=10", run_dir=first))
    ckpt = torch.load(first / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 40

    second = tmp_path / "second"
    figures = train(
        make_cfg("iterations=30", f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}", run_dir=second)
    )
    assert figures["iteration"] == 30
    steps = logged_steps(second)
    assert min(steps) >= 20 and max(steps) < 30  # only iterations 20..29 ran in the second run
    resumed = torch.load(second / "checkpoints" / "last.ckpt", weights_only=False)
    assert resumed["global_step"] == 60


def nan_from_call(at: int):
    """A generator loss that turns NaN from its `at`-th call on."""
    original, calls = MMAGANObjective.g_loss, []

    def g_loss(obj, *args, **kwargs):
        calls.append(1)
        loss, terms = original(obj, *args, **kwargs)
        return (loss * float("nan"), terms) if len(calls) >= at else (loss, terms)

    return g_loss


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(MMAGANObjective, "g_loss", nan_from_call(at=15))
    with pytest.raises(NonFiniteLossError, match=r"iteration 15 .*loss_g=nan"):
        train(make_cfg("iterations=40", "callbacks.checkpoint.every_n_iterations=10"))
    run = tmp_path / "run"
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 20  # iteration 10, the last checkpoint before the NaN
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())
    metrics = read_metrics(run)
    assert metrics["finished"] == 0 and metrics["iteration"] == 15


def test_ctrl_c_leaves_a_checkpoint_and_metrics(make_cfg, tmp_path):
    import lightning as L

    class PressCtrlC(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            if pl_module.iteration == 13:
                raise KeyboardInterrupt

    run = build(make_cfg("iterations=40", "callbacks.checkpoint.every_n_iterations=10"))
    run.trainer.callbacks.append(PressCtrlC())
    with pytest.raises(SystemExit):  # Lightning's graceful shutdown ends with exit status 1
        run.trainer.fit(run.module, datamodule=run.datamodule)
    run_dir = tmp_path / "run"
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 26  # the state reached, not the periodic one at iteration 10
    metrics = read_metrics(run_dir)
    assert metrics["iteration"] == 13 and metrics["finished"] == 0
    assert "train/loss_d" in metrics
