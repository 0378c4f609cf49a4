"""The two-optimizer step: each phase moves only its own network."""

import lightning as L
import pytest
import torch

from mmagan.build import build


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def _grads(net):
    return [None if p.grad is None else p.grad.detach().clone() for p in net.parameters()]


def _same(a, b):
    return all(
        (x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
        for x, y in zip(a, b)
    )


class PhaseSpy(L.Callback):
    """Snapshots G and D after every D optimizer step and every G optimizer step."""

    def __init__(self):
        self.events = []

    def on_train_start(self, trainer, pl_module):
        G, D = pl_module.generator, pl_module.discriminator
        opt_d, opt_g = trainer.optimizers

        def snap(kind):
            self.events.append((kind, _params(G), _grads(G), _params(D), _grads(D)))

        snap("start")
        opt_d.register_step_post_hook(lambda *_: snap("d"))
        opt_g.register_step_post_hook(lambda *_: snap("g"))


@pytest.mark.parametrize("model", ["mmagan", "wgan_gp"])
def test_each_phase_leaves_the_other_network_untouched(make_cfg, model):
    run = build(make_cfg(f"model={model}", "iterations=3", "callbacks.checkpoint.every_n_iterations=0"))
    spy = PhaseSpy()
    run.trainer.callbacks.append(spy)
    run.trainer.fit(run.module, datamodule=run.datamodule)
    d_steps = run.module.objective.d_steps
    kinds = [e[0] for e in spy.events]
    assert kinds == ["start"] + (["d"] * d_steps + ["g"]) * 3
    for prev, cur in zip(spy.events, spy.events[1:]):
        _, g_prev, gg_prev, d_prev, dg_prev = prev
        kind, g_cur, gg_cur, d_cur, dg_cur = cur
        if kind == "d":  # a D step: G's weights and gradients are untouched, D moved
            assert _same(g_prev, g_cur) and _same(gg_prev, gg_cur)
            assert not _same(d_prev, d_cur)
        else:  # a G step: D's weights and gradients are untouched, G moved
            assert _same(d_prev, d_cur) and _same(dg_prev, dg_cur)
            assert not _same(g_prev, g_cur)


def test_global_step_counts_every_optimizer_step(make_cfg):
    run = build(make_cfg("model=wgan_gp", "iterations=4", "callbacks.checkpoint.every_n_iterations=0"))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    # Counted through the two private calls the bare path makes (optimizer_calls.py): a Lightning
    # that renames them turns the bare path off, and this count would go wrong if they stopped counting.
    assert run.module.calls.direct
    assert run.trainer.global_step == 4 * (5 + 1)
    assert run.module.iteration == 4


def test_mmagan_g_step_uses_the_diversity_batch(make_cfg):
    """The hinge's M latents reach D: the G step runs D on B + M fakes."""
    run = build(make_cfg("iterations=1", "model.objective.diversity_batch_size=24", "data.batch_size=50"))
    seen = []
    run.module.discriminator.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[0]))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert seen[:4] == [50, 50, 50, 24]  # D step: real, fake; G step: fake, diversity batch


class AfterEachIteration(L.Callback):
    def __init__(self):
        self.g, self.val_outputs = [], []

    def on_train_batch_end(self, trainer, pl_module, *args):
        self.g.append(_params(pl_module.generator))

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, *args):
        self.val_outputs.append((batch[0].clone(), outputs.detach().clone()))


def test_ema_after_three_steps_is_the_hand_computed_average_and_validation_uses_it(make_cfg):
    run = build(
        make_cfg(
            "iterations=3", "model.ema.enabled=true", "model.ema.decay=0.6", "trainer.val_check_interval=3"
        )
    )
    spy = AfterEachIteration()
    run.trainer.callbacks.append(spy)
    run.trainer.fit(run.module, datamodule=run.datamodule)
    g1, g2, g3 = spy.g
    expected = [0.6 * (0.6 * a + 0.4 * b) + 0.4 * c for a, b, c in zip(g1, g2, g3)]  # copy of G at step 1
    for got, want in zip(_params(run.module.generator_ema), expected):
        torch.testing.assert_close(got, want)
    assert not _same(_params(run.module.generator), expected)

    m = run.module
    indices, outputs = spy.val_outputs[0]
    m.generator_ema.eval(), m.generator.eval()
    with torch.no_grad():
        torch.testing.assert_close(outputs, m.generator_ema(m.eval_latents[indices]))
        assert not torch.allclose(outputs, m.generator(m.eval_latents[indices]))


def test_ema_is_a_copy_of_g_before_its_start_iteration(make_cfg):
    run = build(make_cfg("iterations=5", "model.ema.enabled=true", "model.ema.start_iteration=100"))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert _same(_params(run.module.generator), _params(run.module.generator_ema))


class AfterEachBatch(L.Callback):
    def __init__(self):
        self.g, self.buffers = [], []

    def on_train_batch_end(self, trainer, pl_module, *args):
        self.g.append([p.detach().clone() for p in pl_module.generator.parameters()])
        self.buffers.append([b.detach().clone() for b in pl_module.generator.buffers()])


def test_ema_half_life_with_rampup_is_stylegan2_ada_s_rule_and_buffers_are_copied(make_cfg):
    """decay = 0.5 ** (B / half-life), the half-life at most rampup x images seen; G's buffers (here
    batch norm's running statistics) copied into the average, not averaged."""
    run = build(
        make_cfg(
            "iterations=3", "model.ema.enabled=true", "model.ema.half_life_kimg=1", "model.ema.rampup=0.5",
            "data.batch_size=50",
        )
    )  # fmt: skip
    m = run.module
    assert m.settings.ema.images_per_iteration == 50
    # After G step k the official loop has counted (k - 1) x B images: half-life min(1000, 1 * 50 * 0.5)
    assert m.average.beta(2) == pytest.approx(0.5 ** (50 / 25))
    assert m.average.beta(100) == pytest.approx(0.5 ** (50 / 1000))  # ramp-up over: 1 kimg
    spy = AfterEachBatch()
    run.trainer.callbacks.append(spy)
    run.trainer.fit(m, datamodule=run.datamodule)
    (g1, g2, g3), b3 = spy.g, spy.buffers[-1]
    beta2, beta3 = 0.5 ** (50 / 25), 0.5 ** (50 / 50)
    expected = [beta3 * (beta2 * a + (1 - beta2) * b) + (1 - beta3) * c for a, b, c in zip(g1, g2, g3)]
    for got, want in zip(m.generator_ema.parameters(), expected):
        torch.testing.assert_close(got, want)
    buffers = list(m.generator_ema.buffers())
    assert buffers and all(torch.equal(got, want) for got, want in zip(buffers, b3))


def test_lazy_regularisers_get_stylegan2_s_adam_correction(make_cfg):
    from helpers import TINY_STYLEGAN

    run = build(
        make_cfg(
            *TINY_STYLEGAN, "net.style_mode=modulated", "r1.gamma=0.5", "r1.interval=16", "pl.interval=4",
            "model.optimizer.lr_g=0.002", "model.optimizer.lr_d=0.001", "model.optimizer.betas=[0.0,0.99]",
        )
    )  # fmt: skip
    opt_d, opt_g = run.module.configure_optimizers()
    c_d, c_g = 16 / 17, 4 / 5
    assert opt_d.param_groups[0]["lr"] == pytest.approx(0.001 * c_d)
    assert opt_d.param_groups[0]["betas"] == pytest.approx((0.0, 0.99**c_d))
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.002 * c_g)
    assert opt_g.param_groups[0]["betas"] == pytest.approx((0.0, 0.99**c_g))
    # Without a lazy regulariser the optimizers are as configured.
    plain = build(make_cfg("model.optimizer.lr_d=0.001"))
    opt_d, _ = plain.module.configure_optimizers()
    assert opt_d.param_groups[0]["lr"] == 0.001 and opt_d.param_groups[0]["betas"] == (0.5, 0.999)
