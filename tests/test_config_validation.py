"""Every bad value stops before training with one line naming the key, the value and what is allowed."""

import pytest
import torch
from helpers import run_cli

from mmagan.build import build
from mmagan.errors import ConfigError

BAD = [
    (["model.objective.num_heads=0"], r"model\.objective\.num_heads=0 .*>= 1"),
    (["model.objective.tau=1.5"], r"model\.objective\.tau=1\.5 .*0 < tau < 1"),
    (["model.objective.tau=0"], r"model\.objective\.tau=0 "),
    (["model.objective.lambda_div=-0.1"], r"model\.objective\.lambda_div=-0\.1 .*>= 0"),
    (["model.objective.diversity_batch_size=0"], r"diversity_batch_size=0 .*>= 1"),
    (["model.objective.tau=high"], r"model\.objective\.tau='high'"),
    (["model=wgan_gp", "model.objective.n_critic=0"], r"n_critic=0 .*>= 1"),
    (
        ["model.objective.name=lsgan"],
        r"model\.objective\.name='lsgan' .*one of "
        r"\['dcgan', 'gan', 'madgan', 'mmagan', 'pacgan', 'unrolled', 'veegan', 'wgan_gp'\]",
    ),
    (["+model.objective.kappa=3"], r"model\.objective\.kappa is not a known key"),
    (["net.name=resnet"], r"net\.name='resnet' .*one of"),
    (["net.g_hidden=[0]"], r"net\.g_hidden=\[0\] .*a non-empty list of integers >= 1"),
    (["net.init=xavier"], r"net\.init='xavier' .*one of \['dcgan', 'default'\]"),
    (["net=dcgan"], r"net\.name='dcgan' needs square images .*shape \(2,\)"),
    (["model.optimizer.lr_g=0"], r"model\.optimizer\.lr_g=0 .*> 0"),
    (["model.optimizer.betas=[0.5]"], r"model\.optimizer\.betas=\[0\.5\]"),
    (["iterations=0"], r"iterations=0 .*-1 or an integer >= 1"),
    (["iterations=-1"], r"iterations=-1 needs trainer\.max_epochs"),
    (["trainer.precision=8-mixed"], r"trainer\.precision='8-mixed' .*bf16-mixed"),
    (["trainer.precision=16-mixed"], r"16-mixed' is invalid on the CPU"),
    (["+trainer.gradient_clip_val=1.0"], r"trainer\.gradient_clip_val cannot be set"),
    (["+trainer.max_steps=10"], r"trainer\.max_steps cannot be set.*iterations"),
    (["+trainer.foo=1"], r"trainer\.foo is not an argument of lightning\.Trainer"),
    (["data.batch_size=0"], r"data\.batch_size=0 .*>= 1"),
    (["data.num_samples=10"], r"data\.num_samples=10 .*one training step's batch \(50"),
    (["model.ema.enabled=true", "model.ema.decay=1.0"], r"model\.ema\.decay=1\.0 .*0 < decay < 1"),
    (["seed=-3"], r"seed=-3 "),
    (
        ["trainer.speed.optimizer=sgd"],
        r"trainer\.speed\.optimizer='sgd' .*one of \['fused', 'foreach', 'single'\]",
    ),
    (["trainer.speed.compile_mode=fast"], r"trainer\.speed\.compile_mode='fast' .*reduce-overhead"),
    (["trainer.speed.threads=0"], r"trainer\.speed\.threads=0 .*'auto' or an integer >= 1"),
    (["+trainer.speed.turbo=true"], r"trainer\.speed\.turbo is not a known key"),
    (["+trainer.use_distributed_sampler=true"], r"trainer\.use_distributed_sampler cannot be set"),
    (["ckpt_path=/nonexistent/last.ckpt"], r"ckpt_path='/nonexistent/last\.ckpt' is not a file"),
    (
        ["+callbacks.fid_every=3"],
        r"callbacks\.fid_every is not a known key; known keys of callbacks: \[.*'checkpoint'",
    ),
    (["callbacks.mode_coverage.draws=0"], r"callbacks\.mode_coverage\.draws=0 .*>= 1"),
    (["callbacks.ppl.epsilon=2"], r"callbacks\.ppl\.epsilon=2 .*0 < epsilon < 1"),
    (
        ["+logger.mlflow={}"],
        r"logger\.mlflow is not a known key; known keys of logger: \['csv', 'tensorboard', 'wandb'\]",
    ),
    (
        ["logger=wandb", "logger.wandb.mode=sometimes"],
        r"logger\.wandb\.mode='sometimes' .*auto, online or offline",
    ),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_value_is_named_before_training(make_cfg, overrides, message):
    with pytest.raises(ConfigError, match=message):
        build(make_cfg(*overrides))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal of a GPU trainer without a GPU")
@pytest.mark.parametrize("trainer", ["gpu", "ddp"])
def test_gpu_trainer_without_a_gpu_is_refused(make_cfg, trainer):
    with pytest.raises(ConfigError, match=r"trainer\.accelerator='gpu' is invalid here: no CUDA GPU"):
        build(make_cfg(f"trainer={trainer}"))


def test_batch_norm_in_the_wgan_gp_critic_is_refused(make_cfg):
    from mmagan.config.validation import validate_net

    cfg = make_cfg("model=wgan_gp", "net=dcgan", "net.d_norm=batch")
    with pytest.raises(ConfigError, match="gradient penalty"):
        validate_net(cfg, (3, 32, 32))
    validate_net(make_cfg("model=wgan_gp", "net=dcgan"), (3, 32, 32))  # auto: no batch norm


def test_cli_prints_one_line_and_no_traceback(tmp_path):
    result = run_cli("model.objective.tau=1.5", cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if "config error" in line]
    assert len(errors) == 1 and "model.objective.tau=1.5" in errors[0]
    assert not list(tmp_path.glob("outputs/train/runs/*/checkpoints"))  # nothing was trained


@pytest.mark.parametrize("experiment", ["ring_pacgan", "grid_pacgan"])
@pytest.mark.parametrize("model", ["mmagan", "dcgan", "gan", "wgan_gp"])
def test_experiment_configs_pass_validation(tmp_path, experiment, model):
    from mmagan.config import compose

    cfg = compose(
        "train", [f"experiment={experiment}", f"model={model}", f"paths.output_dir={tmp_path}", "logger=csv"]
    )
    run = build(cfg)
    assert run.datamodule.evaluation().mixture.modes.shape[0] == (8 if experiment == "ring_pacgan" else 25)
    assert run.trainer.max_epochs == 400 and run.trainer.max_steps == -1  # epochs, not iterations


@pytest.mark.parametrize(
    "overrides,present,absent",
    [
        (
            [],
            {"ModeCoverage", "IterationCheckpoint", "SampleSnapshots", "MetricsFile"},
            {"IterationProgressBar"},
        ),
        (["callbacks.mode_coverage.enabled=false"], {"IterationCheckpoint"}, {"ModeCoverage"}),
        (["callbacks.progress_bar.refresh_rate=5"], {"IterationProgressBar"}, set()),
    ],
)
def test_callbacks_follow_their_switches(make_cfg, overrides, present, absent):
    run = build(make_cfg("callbacks.progress_bar.refresh_rate=0", *overrides))
    kinds = {type(c).__name__ for c in run.trainer.callbacks}
    assert present <= kinds and not (absent & kinds)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            ["data=cifar10", "data.split=val"],
            r"data\.split='val' is invalid: must be one of \('train', 'test', 'all'\)",
        ),
        (
            ["data=cifar10", "data.loader.num_workers=-1"],
            r"data\.loader\.num_workers=-1 .*'auto' or an integer >= 0",
        ),
        (["data=stacked_digits", "data.num_samples=0"], r"data\.num_samples=0 .*an integer >= 1"),
        # the rules that need the sample shape read it from the data block, not from a DataModule
        (
            ["data=stacked_digits", "net=mlp"],
            r"net.name='mlp' needs vector data, but data 'stacked_digits' "
            r"has samples of shape \(3, 32, 32\)",
        ),
        (["data=digits", "net=mlp"], r"has samples of shape \(1, 32, 32\)"),
        (["data=ring", "net=dcgan"], r"net.name='dcgan' needs square images .* shape \(2,\)"),
        (
            ["data=ring", "callbacks.lpips_diversity.enabled=true"],
            r"need image data; data 'ring' is not images",
        ),
        (
            ["data=digits", "net=dcgan", "callbacks.ppl.enabled=true", "callbacks.ppl.spaces=[w]"],
            r"callbacks.ppl.spaces=\['w'\] is invalid for this generator: it offers \['z'\]",
        ),
    ],
)
def test_a_data_sets_declared_checks_run_before_anything_is_built(overrides, message, monkeypatch):
    from mmagan import data, nets
    from mmagan.config import compose
    from mmagan.config.validation import validate_config

    monkeypatch.setattr(data, "build_datamodule", None)  # nothing may construct a DataModule
    monkeypatch.setattr(nets, "build_nets", None)  # or a net
    with pytest.raises(ConfigError, match=message):
        validate_config(compose("train", overrides))


def test_a_gradient_penalty_objective_is_known_by_its_capability_not_its_name(make_cfg, monkeypatch):
    """A user's own penalised objective (d_batch_norm_ok False) gets WGAN-GP's refusals: batch norm
    and minibatch layers in the critic, and torch.compile."""
    from mmagan.config.validation import validate_config, validate_net
    from mmagan.objectives import OBJECTIVES
    from mmagan.objectives.wgan_gp import WGANGPObjective

    class MyPenalty(WGANGPObjective):
        name = "my_penalty"

    monkeypatch.setitem(OBJECTIVES, "my_penalty", MyPenalty)
    with pytest.raises(ConfigError, match=r"compile=true is invalid with model.objective.name='my_penalty'"):
        validate_config(
            make_cfg("model=wgan_gp", "model.objective.name=my_penalty", "trainer.speed.compile=true")
        )
    cfg = make_cfg("model=wgan_gp", "model.objective.name=my_penalty", "net=dcgan", "net.d_norm=batch")
    with pytest.raises(
        ConfigError, match=r"net.d_norm='batch' is invalid with model.objective.name='my_penalty'"
    ):
        validate_net(cfg, (3, 32, 32))


@pytest.mark.parametrize(
    "overrides",
    [["data=ring"], ["data=grid"], ["data=digits"], ["data=stacked_digits"], ["data=stacked_mnist"],
     ["data=cifar10"], ["data=celeba_hq", "data.source=faces", "data.resolution=64"]],
)  # fmt: skip
def test_the_shape_validation_reads_is_the_shape_the_data_module_has(overrides):
    from omegaconf import OmegaConf

    from mmagan.config import compose
    from mmagan.config.validation import sample_shape
    from mmagan.data import build_datamodule

    cfg = compose("train", overrides)
    built = build_datamodule(OmegaConf.to_container(cfg.data, resolve=True), batches_per_step=1)
    assert sample_shape(cfg) == tuple(built.sample_shape)
