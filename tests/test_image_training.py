"""Short MMA-GAN fits on every image data set, through the composed config, and the paper's
experiment configs with every model."""

import json

import numpy as np
import pytest
from fake_data import fake_cifar10, fake_mnist, write_images
from helpers import OFFLINE_METRICS, TINY_DCGAN, run_cli

from mmagan.build import build
from mmagan.train import train

SMALL_EVAL = ["data.batch_size=8", "eval.num_samples=64", "eval.batch_size=32"]


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    fake_cifar10(d / "cifar10")
    fake_mnist(d / "mnist")
    write_images(d / "faces", 20, size=(40, 36))
    return d


@pytest.mark.parametrize(
    "data",
    [
        ["data=cifar10"],
        ["data=celeba_hq", "data.source=${paths.data_dir}/faces", "data.resolution=32"],
        ["data=stacked_mnist", "data.num_samples=100"],
        ["data=stacked_digits", "data.num_samples=100"],
    ],
    ids=["cifar10", "celeba_hq", "stacked_mnist", "stacked_digits"],
)
def test_short_mmagan_fit_on_each_image_data_set(make_cfg, data_dir, tmp_path, data):
    cfg = make_cfg(*data, *TINY_DCGAN, *SMALL_EVAL, f"paths.data_dir={data_dir}")
    figures = train(cfg)
    assert figures["iteration"] == 4 and figures["finished"] == 1
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["train/loss_d"] == pytest.approx(figures["train/loss_d"])
    if data[0].startswith("data=stacked"):
        assert {"modes/modes", "modes/kl"} <= set(figures)  # the mode counter ran on this data set


@pytest.mark.parametrize("model", ["mmagan", "dcgan", "wgan_gp"])
@pytest.mark.parametrize(
    ("experiment", "resolution"),
    [
        ("cifar10", 32),
        ("celeba_hq_128", 128),
        ("celeba_hq_256", 256),
        ("celeba_hq_128_stylegan", 128),
        ("celeba_hq_256_stylegan", 256),
    ],
)
def test_paper_experiment_configs_build_for_every_model(make_cfg, tmp_path, experiment, resolution, model):
    source = []
    if experiment.startswith("celeba"):
        np.save(tmp_path / "faces.npy", np.zeros((200, 3, resolution, resolution), dtype=np.uint8))
        source = [f"data.source={tmp_path / 'faces.npy'}"]
    cfg = make_cfg(
        f"experiment={experiment}",
        f"model={model}",
        *source,
        *OFFLINE_METRICS,
        f"fidelity.cache_dir={tmp_path}",
    )
    run = build(cfg)
    assert run.datamodule.sample_shape == (3, resolution, resolution)
    assert run.module.generator(run.module.eval_latents[:2]).shape == (2, 3, resolution, resolution)
    assert run.module.objective.num_heads == (8 if model == "mmagan" else 1)
    if experiment.endswith("stylegan"):  # the paper's widths: 512 maps at 4x4, w of 512
        assert run.module.generator.synthesis.const.shape == (1, 512, 4, 4)
        assert run.module.generator.w_avg.shape == (512,) and run.module.regularizers["r1"].gamma > 0


@pytest.mark.parametrize("digits", ["mnist", "digits"])
def test_veegan_stacked_experiment_configs(make_cfg, digits):
    run = build(make_cfg(f"experiment=stacked_{digits}_veegan"))
    m = run.module
    # VEEGAN's setting as built: DCGAN nets at 32 px from a 100-d z, scored on 26,000 samples
    assert m.generator(m.eval_latents[:2]).shape == (2, 3, 32, 32)
    assert len(m.eval_dataloader().dataset) == 26000 and run.trainer.max_epochs == 50


def test_cli_missing_data_is_one_line_and_exit_2(tmp_path):
    result = run_cli("data=cifar10", "data.download=false", "net=dcgan", "logger=csv", cwd=tmp_path)
    assert result.returncode == 2
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert f"data error: cifar-10-python.tar.gz is not in {tmp_path / 'data' / 'cifar10'}" in out
