"""mmagan-eval on a checkpoint of a short run, with the tiny extractor and a random LPIPS trunk."""

import json

import pytest
from helpers import OFFLINE_METRICS

from mmagan.config import compose
from mmagan.errors import CheckpointError, ConfigError
from mmagan.evaluate import evaluate

EVAL_OFFLINE = [o for o in OFFLINE_METRICS if o.startswith("fidelity.")] + ["lpips.random_trunk=true"]


@pytest.fixture
def trained_run(trained_digits_run):
    return trained_digits_run


def eval_cfg(run, *overrides, ckpt=None):
    return compose(
        "eval",
        [
            f"ckpt_path={ckpt or run / 'checkpoints' / 'last.ckpt'}",
            "num_samples=300",
            "batch_size=128",
            "lpips.num_samples=64",
            "lpips.minibatch=32",
            "fidelity.kid_subsets=3",
            *EVAL_OFFLINE,
            *overrides,
        ],
    )


def test_eval_writes_values_protocol_versions_and_merges_metrics(trained_run):
    before = json.loads((trained_run / "metrics.json").read_text())
    report = evaluate(eval_cfg(trained_run, "metrics=[fid,is,kid,prc,lpips]"))
    saved = json.loads((trained_run / "eval" / "last.json").read_text())
    assert saved["metrics"] == pytest.approx(report["metrics"])
    for key in ("fid", "is", "kid", "precision", "recall", "lpips_diversity", "lpips_diversity_se"):
        assert key in saved["metrics"], key
    assert saved["iteration"] == 3 and saved["protocol"]["num_samples"] == 300
    assert saved["protocol"]["reference"].endswith("all 200 training images")
    assert {"torch", "torch-fidelity", "lpips", "mmagan"} <= set(saved["versions"])
    merged = json.loads((trained_run / "metrics.json").read_text())
    assert merged["eval/fid"] == pytest.approx(saved["metrics"]["fid"])
    assert merged["train/loss_d"] == before["train/loss_d"]  # training figures kept


def test_eval_is_deterministic_under_its_seed(trained_run):
    a = evaluate(eval_cfg(trained_run, "metrics=[fid]", "seed=3"))["metrics"]["fid"]
    b = evaluate(eval_cfg(trained_run, "metrics=[fid]", "seed=3"))["metrics"]["fid"]
    c = evaluate(eval_cfg(trained_run, "metrics=[fid]", "seed=4"))["metrics"]["fid"]
    assert a == b and a != c


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("metrics=[fid,fvd]", "metrics="),
        ("num_samples=0", "num_samples=0"),
        ("ppl.spaces=[x]", "ppl.spaces="),
        ("ppl.epsilon=0", "ppl.epsilon=0 is invalid"),
    ],
)
def test_eval_bad_settings(trained_run, override, message):
    with pytest.raises(ConfigError, match=message):
        evaluate(eval_cfg(trained_run, override))


def test_eval_ppl_of_a_dcgan_generator_is_in_z_only(trained_run, tmp_path):
    report = evaluate(eval_cfg(trained_run, "metrics=[ppl]", "ppl.num_samples=16", f"eval_dir={tmp_path}"))
    assert set(report["metrics"]) == {"ppl_z_end"}  # W exists only for a style-based generator
    assert report["metrics"]["ppl_z_end"] > 0
    assert "generate" not in report["seconds"]  # PPL draws its own pairs: no 50k samples for nothing
    with pytest.raises(ConfigError, match=r"ppl.spaces=\['w'\] is invalid for this generator"):
        evaluate(eval_cfg(trained_run, "metrics=[ppl]", "ppl.spaces=[w]", f"eval_dir={tmp_path}"))


def test_eval_runs_on_a_checkpoint_copied_alone(trained_run, tmp_path):
    """No run folder, no .hydra: the checkpoint carries its config. Results go beside it."""
    copied = tmp_path / "elsewhere" / "model.ckpt"
    copied.parent.mkdir()
    copied.write_bytes((trained_run / "checkpoints" / "last.ckpt").read_bytes())
    report = evaluate(eval_cfg(trained_run, "metrics=[fid,lpips]", "seed=3", ckpt=copied))
    in_run = evaluate(eval_cfg(trained_run, "metrics=[fid,lpips]", "seed=3"))
    saved = json.loads((copied.parent / "eval" / "model.json").read_text())
    assert saved["metrics"]["fid"] == pytest.approx(in_run["metrics"]["fid"])
    assert report["iteration"] == 3 and not (copied.parent / "metrics.json").exists()


def test_eval_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "x.ckpt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"x\.ckpt is not a readable checkpoint"):
        evaluate(compose("eval", [f"ckpt_path={tmp_path / 'x.ckpt'}"]))


def test_eval_cli_reports_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("mmagan-eval")
    result = subprocess.run(
        [exe, f"ckpt_path={tmp_path / 'none.ckpt'}"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    out = result.stderr + result.stdout
    assert "checkpoint error: " in out and "none.ckpt is not a file" in out


@pytest.mark.parametrize("data", ["ring", "grid"])
def test_eval_of_a_mixture_checkpoint_gives_the_figures_of_the_runs_last_validation(make_cfg, tmp_path, data):
    from mmagan.train import train

    run = tmp_path / data
    # PacGAN's nets (net=mlp: not the tiny ones) for 30 iterations: figures away from 0
    train(make_cfg(f"data={data}", "net=mlp", "iterations=30", "trainer.val_check_interval=30", run_dir=run))
    logged = {
        k: v for k, v in json.loads((run / "metrics.json").read_text()).items() if k.startswith("modes/")
    }
    assert {"modes/modes", "modes/high_quality_pct", "modes/reverse_kl", "modes/modes_draw_std"} <= set(
        logged
    )
    assert logged["modes/modes"] > 0 and logged["modes/high_quality_pct"] > 0
    report = evaluate(compose("eval", [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"]))  # metrics: auto
    assert report["metrics"] == pytest.approx(logged, rel=1e-6)
    assert report["protocol"]["modes"]["draws"] == 5 and "resolution" not in report["protocol"]
    other = evaluate(compose("eval", [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", "modes.seed=99"]))
    assert other["protocol"]["modes"]["seed"] == 99 and report["protocol"]["modes"]["seed"] == 1234
    with pytest.raises(
        ConfigError, match=rf"metrics \['fid'\] score images; the run's data '{data}' is not images"
    ):
        evaluate(compose("eval", [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", "metrics=[fid]"]))


def test_eval_of_a_stacked_digits_checkpoint_counts_its_modes_as_validation_did(trained_run):
    logged = json.loads((trained_run / "metrics.json").read_text())
    report = evaluate(eval_cfg(trained_run, "metrics=[modes]"))
    assert report["metrics"]["modes/modes"] == logged["modes/modes"]
    assert report["metrics"]["modes/kl"] == pytest.approx(logged["modes/kl"], rel=1e-6)
