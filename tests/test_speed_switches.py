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
    from helpers import tiny_config

    tmp = tmp_path_factory.mktemp("speed")
    return tiny_config, tmp, run_losses(tiny_config, tmp, *with_switches())


@pytest.mark.parametrize(
    "switch,tol",
    [
        ("trainer.speed.optimizer=fused", 1e-5),
        ("trainer.speed.optimizer=foreach", 1e-5),
        ("trainer.speed.channels_last=true", 1e-4),
        ("trainer.speed.device_data=true", 1e-5),
        pytest.param(
            "trainer.speed.tf32=true",
            1e-5,
            marks=pytest.mark.skipif(
                not torch.cuda.is_available(),
                reason="TF32 is a GPU switch: a no-op on the CPU (tests/test_gpu.py)",
            ),
        ),
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


class StepListener(L.Callback):
    def __init__(self):
        self.calls = 0

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.calls += 1


@pytest.mark.parametrize("listener", [BackwardListener, StepListener])
def test_lightning_dispatch_runs_only_where_someone_listens(baseline, listener):
    """The step calls backward and the optimizer step itself on one device without a scaler; a
    callback with a backward or optimizer-step hook brings Lightning's path back, with its hooks,
    and the same losses, weights and step count."""
    make, tmp, (base_losses, base_module) = baseline
    assert base_module.calls.direct
    listening = listener()
    losses, module = run_losses(make, tmp, *with_switches(), callbacks=[listening])
    assert not module.calls.direct
    assert listening.calls == STEPS * module.steps_per_iteration
    assert module.global_step == base_module.global_step == STEPS * module.steps_per_iteration
    torch.testing.assert_close(losses, base_losses, rtol=0, atol=0)
    for (name, a), b in zip(base_module.state_dict().items(), module.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)


class FrozenLayer(L.Callback):
    """Freezes G's first layer before training; counts the gradients computed for each parameter
    and records which parameters require grad after each batch."""

    def on_train_start(self, trainer, pl_module):
        self.first_name, self.first = next(pl_module.generator.named_parameters())
        self.first.requires_grad_(False)
        self.before = self.first.detach().clone()
        self.at_start = [p.requires_grad for p in pl_module.parameters()]
        self.grads = {}
        for name, p in pl_module.named_parameters():
            if p.requires_grad:
                self.grads[name] = 0
                p.register_hook(lambda grad, name=name: self.grads.__setitem__(name, self.grads[name] + 1))
        self.after_batches = []

    def on_train_batch_end(self, trainer, pl_module, *args):
        self.after_batches.append([p.requires_grad for p in pl_module.parameters()])


def test_each_optimizer_step_freezes_the_other_net_and_keeps_a_user_freeze(baseline):
    make, tmp, _ = baseline
    spy = FrozenLayer()
    _, module = run_losses(make, tmp, *with_switches(), callbacks=[spy])
    # One gradient per iteration for each net: D's in the D step only, G's in the G step only.
    d_steps = module.objective.d_steps
    assert spy.grads == {
        name: STEPS * (d_steps if name.startswith("discriminator.") else 1) for name in spy.grads
    }
    assert f"generator.{spy.first_name}" not in spy.grads
    assert {name.split(".")[0] for name in spy.grads} == {"generator", "discriminator"}
    assert spy.after_batches == [spy.at_start] * STEPS  # both nets trainable again, the freeze kept
    torch.testing.assert_close(spy.first, spy.before, rtol=0, atol=0)


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
