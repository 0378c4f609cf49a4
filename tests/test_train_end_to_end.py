"""Short fits through the composed Hydra config, as `mmagan-train` runs them."""

import csv
import json

import pytest
import torch

from mmagan import load_generator
from mmagan.build import build
from mmagan.data.toy import ring
from mmagan.errors import NonFiniteLossError
from mmagan.metrics.mode_coverage import mode_coverage
from mmagan.sampler import seeded_latents
from mmagan.train import train


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
        "callbacks.mode_coverage.draws=1",  # the fixed evaluation latents only (draws: tested apart)
    )
    figures = train(cfg)
    run = tmp_path / "run"
    metrics = read_metrics(run)
    protocol = metrics.pop("protocol")  # what the figures were measured under, beside them
    assert metrics == pytest.approx(figures)
    assert protocol["eval_samples"] == 500 and protocol["mode_coverage_draws"] == 1
    assert protocol["generator"] == "MLPGenerator" and protocol["resampling"] == "n/a"
    assert metrics["iteration"] == 40 and metrics["finished"] == 1
    # The mode figures are those of the final weights on the fixed evaluation latents: recomputed
    # here from the checkpoint alone.
    g = load_generator(run / "checkpoints" / "last.ckpt")
    samples = g(seeded_latents(cfg.eval.num_samples, 2, cfg.eval.seed))
    mix = ring(**cfg.data.mixture)
    expected = mode_coverage(samples, mix.modes, mix.std, cfg.callbacks.mode_coverage.threshold)
    assert metrics["modes/modes"] == expected["modes"]
    assert metrics["modes/reverse_kl"] == pytest.approx(expected["reverse_kl"], rel=1e-5)
    assert {"train/loss_d", "train/loss_g", "train/g_div"} <= set(metrics)
    ckpts = {p.name for p in (run / "checkpoints").iterdir()}
    assert {"iter0000020.ckpt", "iter0000040.ckpt", "last.ckpt"} <= ckpts
    assert (run / "samples" / "iter0000020.png").is_file()
    assert (run / "plots" / "modes_iter0000040.png").is_file()
    # Logged steps on the dashboards are generator iterations, not optimizer steps.
    assert max(logged_steps(run)) < 40


def test_each_log_step_is_one_row_with_losses_terms_and_head_figures(make_cfg, tmp_path):
    """The log step's figures reach the loggers together, at Lightning's step (the 0-based
    iteration) and with its epoch column; metrics.json keeps the last of them."""
    train(make_cfg("iterations=12", "trainer.log_every_n_steps=5", "model.objective.num_heads=3"))
    run = tmp_path / "run"
    with open(run / "csv" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if any(r[k] for k in r if k.startswith("train/"))]
    train_keys = {"train/loss_d", "train/loss_g", "train/g_div", "train/min_activation"}
    train_keys |= {f"train/heads/A_{side}_{k}" for side in ("fake", "real") for k in range(3)}
    assert [int(r["step"]) for r in rows] == [4, 9, 11]  # (i + 1) % 5 == 0, and the last
    for r in rows:
        assert all(r[k] != "" for k in train_keys) and r["epoch"] == "0"
    metrics = read_metrics(run)
    last = rows[-1]
    for k in train_keys:
        assert metrics[k] == pytest.approx(float(last[k]))


@pytest.mark.parametrize(
    "model,terms",
    [
        ("gan", {"d_real", "d_fake", "g_adv"}),
        ("dcgan", {"d_real", "d_fake", "g_adv"}),
        ("wgan_gp", {"wasserstein", "gp"}),
    ],
)
def test_baselines_fit_and_log_their_own_terms(make_cfg, model, terms):
    figures = train(make_cfg(f"model={model}", "iterations=6"))
    assert figures["iteration"] == 6
    assert {f"train/{t}" for t in terms} <= set(figures) and "train/g_div" not in figures


def test_bf16_mixed_precision_on_cpu_changes_the_arithmetic_not_the_result(make_cfg, tmp_path):
    full = train(make_cfg("iterations=5", run_dir=tmp_path / "fp32"))
    bf16 = train(make_cfg("iterations=5", "trainer.precision=bf16-mixed", run_dir=tmp_path / "bf16"))
    assert bf16["train/loss_g"] != full["train/loss_g"]  # autocast really ran in bf16
    assert bf16["train/loss_g"] == pytest.approx(full["train/loss_g"], abs=0.05)


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


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(make_cfg, tmp_path, monkeypatch):
    from helpers import inject_nan_g_loss

    inject_nan_g_loss(monkeypatch, at=15, onwards=True)
    with pytest.raises(NonFiniteLossError, match=r"iteration 15 .*loss_g=nan"):
        train(make_cfg("iterations=40", "callbacks.checkpoint.every_n_iterations=10"))
    run = tmp_path / "run"
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 20  # iteration 10, the last checkpoint before the NaN
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())
    metrics = read_metrics(run)
    assert metrics["finished"] == 0 and metrics["iteration"] == 15


def fit_until_interrupted(cfg, at: int, interrupt: BaseException) -> None:
    """Fit `cfg` and raise `interrupt` after iteration `at` (Ctrl-C, or a cluster's time limit)."""
    import lightning as L

    class Interrupt(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            if pl_module.iteration == at:
                raise interrupt

    run = build(cfg)
    run.trainer.callbacks.append(Interrupt())
    with pytest.raises(SystemExit):  # Lightning's graceful shutdown after Ctrl-C ends with exit status 1
        run.trainer.fit(run.module, datamodule=run.datamodule)


@pytest.mark.parametrize(
    "interrupt",
    [KeyboardInterrupt(), SystemExit(-1)],
    ids=["ctrl_c", "cluster_time_limit"],  # submitit exits a job at its time limit to requeue it
)
def test_an_interrupted_run_keeps_its_state_and_a_rerun_in_its_folder_finishes_it(
    make_cfg, tmp_path, interrupt
):
    cfg = make_cfg(
        "iterations=30", "callbacks.checkpoint.every_n_iterations=10", "trainer.val_check_interval=10"
    )
    fit_until_interrupted(cfg, at=13, interrupt=interrupt)
    run_dir = tmp_path / "run"
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 26  # the state reached, not the periodic one at iteration 10
    metrics = read_metrics(run_dir)
    assert metrics["iteration"] == 13 and metrics["finished"] == 0
    assert "modes/modes" in metrics  # the validation at iteration 10 was kept

    figures = train(cfg)  # started again: same config, same folder (a requeued job)
    assert figures["iteration"] == 30 and figures["finished"] == 1
    assert min(logged_steps(run_dir)) >= 13  # it went on from 13, not from the start


def test_a_run_interrupted_before_its_first_periodic_checkpoint_ends_in_last_ckpt(make_cfg, tmp_path):
    """The state saved at the interrupt carries no `last` of the periodic callback: the finished
    rerun must still overwrite last.ckpt, not write a last-v1.ckpt beside a stale one."""
    cfg = make_cfg(
        "iterations=20", "callbacks.checkpoint.every_n_iterations=10", "trainer.val_check_interval=10"
    )
    fit_until_interrupted(cfg, at=5, interrupt=KeyboardInterrupt())
    train(cfg)
    checkpoints = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in checkpoints.glob("last*")) == ["last.ckpt"]
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"] == 40


def test_a_run_resumed_at_its_end_still_reports_its_last_training_figures(make_cfg, tmp_path):
    """Killed after its last checkpoint but before metrics.json said so, a job resumes at its end
    and takes no step: the figures of its last log step come from the checkpoint."""
    first = train(make_cfg("iterations=10", run_dir=tmp_path / "first"))
    ckpt = tmp_path / "first" / "checkpoints" / "last.ckpt"
    again = train(make_cfg("iterations=10", f"ckpt_path={ckpt}", run_dir=tmp_path / "again"))
    losses = {k: v for k, v in first.items() if k.startswith("train/")}
    assert losses and {k: again[k] for k in losses} == losses
