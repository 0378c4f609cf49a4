"""StyleGAN2's lazy regularisation as the official loop runs it: a due regulariser takes a step of
its own (Dreg, Greg) with its penalty times the interval, that global_step does not count; the
path-length mean passes gradient through the batch mean; and seams that take a regulariser or a
callback defined here, from config, with nothing else added."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from helpers import TINY_STYLEGAN

from mmagan.build import build
from mmagan.callbacks.from_config import CALLBACKS, CallbackKind
from mmagan.regularizers import REGULARIZERS, Regularizer
from mmagan.regularizers.path_length import path_length_penalty

INTERVAL, ITERATIONS = 2, 4


class WeightSum(Regularizer):
    """weight x (sum of D's parameters): its gradient is `weight` on every parameter, known by hand."""

    name = "weight_sum"
    phase = "D"
    checks = {"weight": (lambda v: v > 0, "> 0"), "interval": (lambda v: v >= 1, ">= 1")}

    def __init__(self, weight: float = 0.0, interval: int = 1) -> None:
        super().__init__(interval)
        self.weight, self.params = weight, []

    def forward(self, batch):
        total = sum(p.sum() for p in self.params)
        return self.weight * total, {"weight_sum": total.detach()}


def test_a_due_lazy_regulariser_takes_its_own_step_with_the_interval_as_gain(make_cfg, monkeypatch):
    monkeypatch.setitem(REGULARIZERS, "weight_sum", WeightSum)
    run = build(
        make_cfg(f"iterations={ITERATIONS}", "+weight_sum.weight=0.5", f"+weight_sum.interval={INTERVAL}")
    )
    m = run.module
    m.regularizers["weight_sum"].params = list(m.discriminator.parameters())
    grads = []

    class Spy(L.Callback):
        def on_train_start(self, trainer, pl_module):
            opt_d = trainer.optimizers[0]
            opt_d.register_step_pre_hook(
                lambda *_: grads.append([p.grad.clone() for p in pl_module.discriminator.parameters()])
            )

    run.trainer.callbacks.append(Spy())
    run.trainer.fit(m, datamodule=run.datamodule)
    own = [g for g in grads if all(torch.allclose(x, torch.full_like(x, 0.5 * INTERVAL)) for x in g)]
    assert len(grads) == ITERATIONS + ITERATIONS // INTERVAL  # D main steps, and one Dreg per interval
    assert len(own) == ITERATIONS // INTERVAL  # those steps' gradient is the penalty's alone, x interval
    assert run.trainer.global_step == 2 * ITERATIONS and m.iteration == ITERATIONS  # not counted
    assert "train/weight_sum" in m.train_figures  # logged at the last iteration (4, where it was due)
    c = INTERVAL / (INTERVAL + 1)  # StyleGAN2's Adam correction for I + 1 steps in I iterations
    assert run.trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(2e-4 * c)


def test_r1_and_path_length_each_run_as_a_phase_of_their_own(make_cfg):
    lazy = [f"r1.interval={INTERVAL}", f"pl.interval={INTERVAL}", f"trainer.log_every_n_steps={ITERATIONS}"]
    run = build(
        make_cfg(
            *TINY_STYLEGAN,
            *lazy,
            "net.style_mode=modulated",
            f"iterations={ITERATIONS}",
            "r1.gamma=1",
            "callbacks.mode_coverage.enabled=false",
        )  # fmt: skip
    )
    steps = {"d": 0, "g": 0}

    class Count(L.Callback):
        def on_train_start(self, trainer, pl_module):
            trainer.optimizers[0].register_step_post_hook(lambda *_: steps.__setitem__("d", steps["d"] + 1))
            trainer.optimizers[1].register_step_post_hook(lambda *_: steps.__setitem__("g", steps["g"] + 1))

    run.trainer.callbacks.append(Count())
    run.trainer.fit(run.module, datamodule=run.datamodule)
    extra = ITERATIONS // INTERVAL
    assert steps == {"d": ITERATIONS + extra, "g": ITERATIONS + extra}
    assert run.trainer.global_step == 2 * ITERATIONS
    figures = run.module.train_figures
    assert {"train/r1", "train/pl_penalty", "train/pl_mean"} <= figures.keys()
    assert float(run.module.regularizers["pl"].mean) == pytest.approx(figures["train/pl_mean"], rel=1e-6)


def test_the_path_length_mean_passes_gradient_through_the_batch_mean():
    """The official code: a = pl_mean.lerp(lengths.mean(), decay) with the gradient flowing
    through lengths.mean(); the penalty's gradient equals that expression's, not the detached one's."""
    from test_stylegan import small_g

    g = small_g(style_mode="modulated").double()
    z = torch.randn(3, g.latent_dim, dtype=torch.float64)
    param = next(p for p in g.parameters() if p.requires_grad)
    torch.manual_seed(1)
    penalty, _, lengths = path_length_penalty(g, z, torch.tensor(0.2, dtype=torch.float64), decay=0.5)
    (got,) = torch.autograd.grad(penalty, param, retain_graph=True)
    mean = torch.tensor(0.2, dtype=torch.float64).lerp(lengths.mean(), 0.5)
    (want,) = torch.autograd.grad((lengths - mean).square().mean(), param, retain_graph=True)
    (detached,) = torch.autograd.grad((lengths - mean.detach()).square().mean(), param)
    torch.testing.assert_close(got, want)
    assert not torch.allclose(got, detached)  # the difference is there to be seen


class Counter(L.Callback):
    def __init__(self, every: int) -> None:
        self.every, self.batches = every, 0

    def on_train_batch_end(self, *args) -> None:
        self.batches += 1


def test_a_callback_defined_here_is_configured_checked_and_built_from_its_block(make_cfg, monkeypatch):
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    built = []

    def counter(block, parts):
        built.append(Counter(block.every))
        return built[-1:]

    monkeypatch.setitem(CALLBACKS, "counter", CallbackKind(counter, {"every": (lambda v: v >= 1, ">= 1")}))
    with pytest.raises(ConfigError, match=r"callbacks.counter.every=0 is invalid"):
        validate_config(make_cfg("+callbacks.counter.every=0"))
    run = build(make_cfg("iterations=3", "+callbacks.counter.every=2"))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert len(built) == 1 and built[0] in run.trainer.callbacks and built[0].batches == 3
