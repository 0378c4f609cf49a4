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
