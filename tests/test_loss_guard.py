"""The loss guard: no host read until a check is due; a timed check stops a diverged run early."""

import re

import pytest
import torch
from helpers import CountHostReads

from mmagan.build import build
from mmagan.errors import NonFiniteLossError
from mmagan.loss_guard import LossGuard


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_check_is_due_at_log_steps_when_the_ring_comes_round_and_after_check_seconds():
    clock = Clock()
    guard = LossGuard(log_every=8, check_seconds=2.0, clock=clock)
    guard.start(0)
    assert len(guard.ring) == 8
    assert [i for i in range(1, 17) if guard.due(i, log_step=False)] == [8, 16]
    assert guard.due(3, log_step=True)
    clock.now += 1.9
    assert not guard.due(3, log_step=False)
    clock.now += 0.2
    assert guard.due(3, log_step=False)
    guard.check(3)  # the check restarts the clock
    assert not guard.due(4, log_step=False)
    assert not LossGuard(log_every=8, check_seconds=0, clock=clock).due(3, log_step=False)  # 0: off


def test_recording_reads_nothing_and_a_check_names_the_first_bad_iteration():
    guard = LossGuard(log_every=4, check_seconds=0)
    guard.start(0)
    with CountHostReads() as counter:
        for i, loss in zip(range(1, 4), (1.0, float("inf"), float("nan"))):
            guard.record(i, torch.tensor(0.5), torch.tensor(loss))
    assert counter.reads == 0
    with pytest.raises(
        NonFiniteLossError, match=r"at iteration 2 \(seen at iteration 3\): loss_d=0.5, loss_g=inf"
    ):
        guard.check(3)


def test_finite_losses_pass_and_a_resumed_run_does_not_recheck_what_came_before():
    guard = LossGuard(log_every=4, check_seconds=0)
    guard.ring.fill_(float("nan"))  # rows of iterations before the resume: never read
    guard.start(6)
    guard.record(7, torch.tensor(1.0), torch.tensor(2.0))
    guard.check(7)
    assert guard.checked_until == 7


def test_a_diverged_run_stops_before_its_first_log_step(make_cfg):
    """lr 1e9 on the ring, logging every 1,000 iterations: the timed check (0.2 s here) stops the
    run long before the log step or the full ring, naming the first bad iteration."""
    cfg = make_cfg(
        "model.optimizer.lr_g=1e9",
        "model.optimizer.lr_d=1e9",
        "iterations=2000",
        "trainer.log_every_n_steps=1000",
        "trainer.val_check_interval=2000",
        "trainer.speed.loss_check_seconds=0.2",
        "callbacks.checkpoint.every_n_iterations=0",
        "callbacks.sample_snapshots.every_n_iterations=0",
    )
    run = build(cfg)
    with pytest.raises(NonFiniteLossError) as e:
        run.trainer.fit(run.module, datamodule=run.datamodule)
    first, seen = map(
        int, re.search(r"at iteration (\d+) \(seen at iteration (\d+)\)", str(e.value)).groups()
    )
    assert first <= seen < 1000
