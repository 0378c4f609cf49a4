"""Stopping signals held during an iteration reach, once it ends, the handlers that were in place."""

import signal

import pytest

from mmagan.interrupts import HeldSignals


@pytest.fixture
def recorded():
    """SIGTERM and SIGUSR2 recorded by handlers of their own, put back afterwards."""
    seen = []
    before = {
        s: signal.signal(s, lambda signum, _frame: seen.append(signum))
        for s in (signal.SIGTERM, signal.SIGUSR2)
    }
    yield seen
    for s, handler in before.items():
        signal.signal(s, handler)


def test_signals_during_an_iteration_are_passed_on_in_order_when_it_ends(recorded):
    held = HeldSignals()
    held.install()
    held.holding = True
    signal.raise_signal(signal.SIGUSR2)
    signal.raise_signal(signal.SIGTERM)
    assert recorded == []  # held while the iteration runs
    held.release()
    assert recorded == [signal.SIGUSR2, signal.SIGTERM]
    signal.raise_signal(signal.SIGTERM)  # between iterations: passed on at once
    assert recorded == [signal.SIGUSR2, signal.SIGTERM, signal.SIGTERM]
    held.uninstall()
    signal.raise_signal(signal.SIGUSR2)  # the earlier handler is back
    assert recorded[-1] == signal.SIGUSR2 and signal.getsignal(signal.SIGUSR2) != held._handle


def test_ctrl_c_during_an_iteration_is_a_keyboard_interrupt_once_it_ends(ctrl_c_raises):
    held = HeldSignals()
    held.install()
    try:
        held.holding = True
        signal.raise_signal(signal.SIGINT)  # no exception here, in the middle of the iteration
        with pytest.raises(KeyboardInterrupt):
            held.release()
    finally:
        held.uninstall()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_installed_after_ours_is_not_overwritten_by_uninstall(recorded):
    held = HeldSignals()
    held.install()
    newer = lambda signum, _frame: None  # noqa: E731
    signal.signal(signal.SIGTERM, newer)
    held.uninstall()
    assert signal.getsignal(signal.SIGTERM) is newer
