"""An iteration that does not log never reads a tensor on the host.

`.item()`, `bool()`, `float()` and `.tolist()` on a tensor all dispatch to
`aten._local_scalar_dense`; on a GPU each is a host-device round trip that stalls the queue.
Counted here on the CPU over whole batches (step, optimizer steps, EMA, Lightning's bookkeeping).
"""

import lightning as L
import pytest
from helpers import CountHostReads

from mmagan.build import build


class CountIn(L.Callback):
    """Counts host reads from the start to the end of the batches of `iterations`."""

    def __init__(self, iterations):
        self.iterations, self.reads, self.mode = set(iterations), {}, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration in self.iterations:
            self.mode = CountHostReads()
            self.mode.__enter__()

    def on_train_batch_end(self, trainer, pl_module, *args):
        if self.mode is not None:
            self.mode.__exit__(None, None, None)
            self.reads[pl_module.iteration - 1] = self.mode.reads
            self.mode = None


QUIET = [
    "iterations=10",
    "trainer.log_every_n_steps=5",
    "trainer.val_check_interval=100",
    "callbacks.checkpoint.every_n_iterations=0",
    "callbacks.sample_snapshots.every_n_iterations=0",
    "trainer.speed.loss_check_seconds=0",  # the loss guard's timed read, tested in test_loss_guard.py
]


@pytest.mark.parametrize("ema", [False, True])
@pytest.mark.parametrize(
    "model",
    ["gan", "dcgan", "wgan_gp", "mmagan", "mmagan_balanced_relative", "mmagan_smooth", "mmagan_entropy"]
    + [
        "dcgan ms.weight=1",
        "gan net.d_minibatch=discrimination",
        "mmagan net.d_minibatch=stddev",
        "unrolled",
        "madgan",
        "veegan",
    ],
)
def test_no_host_read_in_an_iteration_that_does_not_log(make_cfg, model, ema):
    run = build(make_cfg(*f"model={model}".split(), f"model.ema.enabled={str(ema).lower()}", *QUIET))
    # iterations 0-based: 4 and 9 log ((i + 1) % 5 == 0, and the last); the others must not read
    counter = CountIn([1, 2, 3, 4, 5, 6, 7])
    run.trainer.callbacks.insert(0, counter)
    run.trainer.fit(run.module, datamodule=run.datamodule)
    quiet = {i: n for i, n in counter.reads.items() if i != 4}
    assert quiet == {i: 0 for i in (1, 2, 3, 5, 6, 7)}
    assert counter.reads[4] > 0  # the log step reads its figures and the loss ring: the counter works


def test_a_nan_is_caught_at_the_next_log_step_naming_its_iteration(make_cfg, monkeypatch):
    from helpers import inject_nan_g_loss

    from mmagan.errors import NonFiniteLossError

    inject_nan_g_loss(monkeypatch, at=3)
    run = build(make_cfg(*QUIET))
    with pytest.raises(
        NonFiniteLossError, match=r"at iteration 3 \(seen at iteration 5\): loss_d=[-\d.e]+, loss_g=nan"
    ):
        run.trainer.fit(run.module, datamodule=run.datamodule)


@pytest.mark.parametrize("nan_at,message", [(None, None), (6, r"at iteration 6 \(seen at iteration 8\)")])
def test_with_rare_logging_the_losses_are_checked_when_the_ring_comes_round(
    make_cfg, monkeypatch, nan_at, message
):
    """Logging every 100 iterations with a ring of 4 rows: checked at iterations 4, 8, 12 (and the
    end), so no row is overwritten unread; a run without NaN is not stopped by the check."""
    from helpers import inject_nan_g_loss

    from mmagan import loss_guard
    from mmagan.errors import NonFiniteLossError

    monkeypatch.setattr(loss_guard, "LOSS_RING_ROWS", 4)
    if nan_at is not None:
        inject_nan_g_loss(monkeypatch, at=nan_at)
    run = build(make_cfg(*QUIET, "iterations=12", "trainer.log_every_n_steps=100"))
    assert len(run.module.loss_guard.ring) == 4
    counter = CountIn([1, 2, 3, 4, 5, 6])
    run.trainer.callbacks.insert(0, counter)
    if nan_at is None:
        run.trainer.fit(run.module, datamodule=run.datamodule)
        assert counter.reads[3] > 0  # iteration 4 (index 3) read the ring
        assert {i: n for i, n in counter.reads.items() if i != 3} == {i: 0 for i in (1, 2, 4, 5, 6)}
    else:
        with pytest.raises(NonFiniteLossError, match=message):
            run.trainer.fit(run.module, datamodule=run.datamodule)


@pytest.mark.parametrize("mode", ["adain", pytest.param("modulated", marks=pytest.mark.slow)])
def test_stylegan_iterations_do_not_read_the_host_either(make_cfg, mode):
    """Style mixing, w_avg tracking, lazy R1 (due at iteration 2) and, for StyleGAN2, lazy path-length
    regularisation (due at iterations 1 and 3) and the half-life EMA all stay on the device."""
    from helpers import TINY_STYLEGAN

    cfg = make_cfg(
        *TINY_STYLEGAN, "r1.gamma=1.0", "r1.interval=3", "callbacks.mode_coverage.enabled=false", *QUIET,
        f"net.style_mode={mode}", "pl.interval=2", "model.ema.enabled=true", "model.ema.half_life_kimg=1",
        "model.ema.rampup=0.05",
    )  # fmt: skip
    run = build(cfg)
    pl = run.module.regularizers["pl"].weight if "pl" in run.module.regularizers else 0.0
    assert pl == (2.0 if mode == "modulated" else 0.0)
    counter = CountIn([1, 2, 3, 4])
    run.trainer.callbacks.insert(0, counter)
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert {i: n for i, n in counter.reads.items() if i != 4} == {1: 0, 2: 0, 3: 0}
    assert counter.reads[4] > 0
