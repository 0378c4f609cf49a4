"""Stopping signals wait for the end of the block and then reach the handlers that were in place."""

import signal

import pytest

from mmagan.interrupts import held_until_done


def test_a_signal_inside_the_block_reaches_its_own_handler_after_the_block_in_order():
    seen, steps = [], []
    before = {s: signal.signal(s, lambda signum, _f: seen.append((signum, list(steps))))
              for s in (signal.SIGTERM, signal.SIGUSR2)}  # fmt: skip
    try:
        with held_until_done():
            steps.append("d")
            signal.raise_signal(signal.SIGUSR2)
            signal.raise_signal(signal.SIGTERM)
            assert seen == []  # held while the block runs
            steps.append("g")
        assert seen == [(signal.SIGUSR2, ["d", "g"]), (signal.SIGTERM, ["d", "g"])]
        signal.raise_signal(signal.SIGTERM)  # after the block: the handler is back, called at once
        assert seen[-1] == (signal.SIGTERM, ["d", "g"]) and len(seen) == 3
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def test_ctrl_c_inside_the_block_is_a_keyboard_interrupt_once_it_ends():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held_until_done():
            signal.raise_signal(signal.SIGINT)
            done.append("g")
    assert done == ["g"]
