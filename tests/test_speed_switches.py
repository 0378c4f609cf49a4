"""Each speed switch gives the step's losses and weights as without it (CPU tolerances; bf16 and
compile on a GPU are checked in tests/test_gpu.py)."""

import lightning as L
import pytest
import torch
from helpers import TINY_STACKED_DIGITS

from mmagan.build import build

STEPS = 4
# Every switch in its off position: the baseline each switch is compared with.
ALL_OFF = {
    "optimizer": "single",
    "channels_last": "false",
    "device_data": "false",
    "tf32": "false",
}


def with_switches(*switches: str) -> list[str]:
    """ALL_OFF with the given `trainer.speed.key=value` overrides in place of the off values."""
    values = dict(ALL_OFF)
    for switch in switches:
        key, value = switch.removeprefix("trainer.speed.").split("=")
        values[key] = value
    return [f"trainer.speed.{k}={v}" for k, v in values.items()]


class Losses(L.Callback):
    def __init__(self):
        self.values = []

    def on_train_batch_end(self, trainer, pl_module, *args):
        m = trainer.callback_metrics
        self.values.append((float(m["train/loss_d"]), float(m["train/loss_g"])))


def run_losses(make_cfg, tmp_path, *overrides, callbacks=()):
    run = build(
        make_cfg(
            *TINY_STACKED_DIGITS,
            f"iterations={STEPS}",
            "trainer.log_every_n_steps=1",
            "model.ema.enabled=true",
            f"paths.data_dir={tmp_path / 'data'}",
            *overrides,
            run_dir=tmp_path / f"run{abs(hash((overrides, *map(type, callbacks))))}",
        )
    )
    spy = Losses()
    run.trainer.callbacks.extend([spy, *callbacks])
    run.trainer.fit(run.module, datamodule=run.datamodule)
    return torch.tensor(spy.values), run.module


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    from helpers import TINY

    from mmagan.config import compose

    tmp = tmp_path_factory.mktemp("speed")

    def make(*overrides, run_dir):
        return compose("train", [*TINY, f"paths.output_dir={run_dir}", *overrides])

    return make, tmp, run_losses(make, tmp, *with_switches())


@pytest.mark.parametrize(
    "switch,tol",
    [
        ("trainer.speed.optimizer=fused", 1e-5),
        ("trainer.speed.optimizer=foreach", 1e-5),
        ("trainer.speed.channels_last=true", 1e-4),
        ("trainer.speed.device_data=true", 1e-5),
        ("trainer.speed.tf32=true", 1e-5),  # a no-op on the CPU; must not change anything there
    ],
)
def test_switch_keeps_the_losses(baseline, switch, tol):
    make, tmp, (base_losses, base_module) = baseline
    losses, module = run_losses(make, tmp, *with_switches(switch))
    assert losses.shape == (STEPS, 2)
    torch.testing.assert_close(losses, base_losses, rtol=tol, atol=tol)
    for (name, a), b in zip(base_module.state_dict().items(), module.state_dict().values()):
        torch.testing.assert_close(b.contiguous(), a.contiguous(), rtol=tol * 10, atol=tol * 10, msg=name)


class BackwardListener(L.Callback):
    def __init__(self):
        self.calls = 0

    def on_after_backward(self, trainer, pl_module):
        self.calls += 1


def test_backward_runs_through_lightning_only_where_someone_listens(baseline):
    """The step calls backward itself on one device without a scaler; a callback with a backward
    hook brings Lightning's manual_backward back, with its hooks, and the same losses and weights."""
    make, tmp, (base_losses, base_module) = baseline
    assert base_module._direct_backward
    listener = BackwardListener()
    losses, module = run_losses(make, tmp, *with_switches(), callbacks=[listener])
    assert not module._direct_backward
    assert listener.calls == STEPS * module.steps_per_iteration
    torch.testing.assert_close(losses, base_losses, rtol=0, atol=0)
    for (name, a), b in zip(base_module.state_dict().items(), module.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("nvml_loads", [True, False])
def test_nvml_check_dropped_only_where_nvml_cannot_load(monkeypatch, nvml_loads):
    import ctypes

    from mmagan import build as build_module

    def fake_cdll(name):
        if not nvml_loads:
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    monkeypatch.setenv(build_module.NVML_CHECK, "1")
    monkeypatch.setattr(ctypes, "CDLL", fake_cdll)
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    build_module.drop_failing_nvml_check()
    assert (build_module.NVML_CHECK in build_module.os.environ) == nvml_loads


@pytest.mark.slow
def test_compile_keeps_the_losses(baseline):
    make, tmp, (base_losses, _) = baseline
    losses, module = run_losses(make, tmp, *with_switches(), "trainer.speed.compile=true")
    torch.testing.assert_close(losses, base_losses, rtol=1e-3, atol=1e-3)
    assert "generator.main.0.weight" in module.state_dict()  # compiled in place: checkpoints unchanged


def test_device_data_falls_back_to_the_loader_for_memory_mapped_sets():
    from mmagan.data.celeba_hq import CelebAHQDataModule
    from mmagan.data.cifar10 import CIFAR10DataModule

    assert not CelebAHQDataModule(source="x", device_data=True).device_data  # trainer=gpu with CelebA-HQ
    assert CIFAR10DataModule(device_data=True).device_data
