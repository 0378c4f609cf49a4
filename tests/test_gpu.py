"""GPU checks: skipped where no CUDA device is visible (CI never needs one)."""

import lightning as L
import pytest
import torch
from helpers import TINY_STACKED_DIGITS

from mmagan.build import build

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

GPU = ["trainer=gpu", "trainer.precision=bf16-mixed"]


def test_a_few_iterations_with_every_speed_switch(make_cfg, tmp_path):
    run = build(
        make_cfg(
            *TINY_STACKED_DIGITS, *GPU, "iterations=6", f"paths.data_dir={tmp_path / 'data'}",
            "trainer.speed.compile=true", "trainer.speed.channels_last=true",
            "trainer.speed.device_data=true", "trainer.speed.tf32=true", "model.ema.enabled=true",
        )
    )  # fmt: skip
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert run.module.iteration == 6
    assert run.module.generator.main[0].weight.device.type == "cuda"
    assert torch.isfinite(torch.stack([p.float().sum() for p in run.module.generator_ema.parameters()])).all()


class SyncsAreErrors(L.Callback):
    """Between the log steps, any host-device synchronisation raises (torch's sync debug mode)."""

    def __init__(self, quiet):
        self.quiet = set(quiet)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration in self.quiet:
            torch.cuda.set_sync_debug_mode("error")

    def on_train_batch_end(self, trainer, pl_module, *args):
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("model", ["gan", "dcgan", "wgan_gp", "mmagan"])
def test_no_sync_in_an_iteration_that_does_not_log(make_cfg, tmp_path, model):
    run = build(
        make_cfg(
            *TINY_STACKED_DIGITS, *GPU, f"model={model}", "iterations=10", "trainer.log_every_n_steps=5",
            "trainer.speed.device_data=true", "model.ema.enabled=true", f"paths.data_dir={tmp_path / 'data'}",
            "callbacks.checkpoint.every_n_iterations=0", "callbacks.sample_snapshots.every_n_iterations=0",
            "trainer.val_check_interval=100",
        )
    )  # fmt: skip
    run.trainer.callbacks.insert(0, SyncsAreErrors([1, 2, 3, 5, 6, 7]))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert run.module.iteration == 10


def test_stylegan_iterations_do_not_sync(make_cfg, tmp_path):
    """Style mixing, w_avg tracking and lazy R1 (due at iterations 2 and 5) stay on the device."""
    from helpers import TINY_STYLEGAN

    run = build(
        make_cfg(
            *TINY_STYLEGAN, *GPU, "iterations=10", "trainer.log_every_n_steps=5", "r1.gamma=1.0",
            "r1.interval=3", "trainer.speed.device_data=true", "trainer.speed.channels_last=true",
            "model.ema.enabled=true", f"paths.data_dir={tmp_path / 'data'}",
            "callbacks.checkpoint.every_n_iterations=0", "callbacks.sample_snapshots.every_n_iterations=0",
            "callbacks.mode_coverage.enabled=false", "trainer.val_check_interval=100",
        )
    )  # fmt: skip
    run.trainer.callbacks.insert(0, SyncsAreErrors([1, 2, 3, 5, 6, 7]))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert run.module.iteration == 10 and int(run.module.generator.w_avg_updates) > 0
