"""The two-optimizer step: each phase moves only its own network."""

import lightning as L
import pytest
import torch

from mmagan.train import build


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


def test_ema_is_what_evaluation_uses(make_cfg, tmp_path):
    frozen = build(make_cfg("iterations=5", "model.ema.enabled=true", "model.ema.start_iteration=100"))
    frozen.trainer.fit(frozen.module, datamodule=frozen.datamodule)
    m = frozen.module
    assert m.eval_generator is m.generator_ema.module
    # Before start_iteration the average is a copy of G.
    assert _same(_params(m.generator), _params(m.eval_generator))

    moving = build(
        make_cfg("iterations=5", "model.ema.enabled=true", "model.ema.decay=0.5", run_dir=tmp_path / "b")
    )
    moving.trainer.fit(moving.module, datamodule=moving.datamodule)
    m = moving.module
    assert not _same(_params(m.generator), _params(m.eval_generator))
    assert all(torch.isfinite(p).all() for p in m.eval_generator.parameters())
