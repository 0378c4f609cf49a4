"""Interrupts that wait for the end of a training iteration.

Ctrl-C, SIGTERM or a cluster's time-limit signal that lands between D's step and G's would have the
run save a state half an iteration on: resumed, D would take that step a second time. Held here,
the signal reaches its handler (Lightning's, submitit's, Python's) once G has stepped, so the saved
state is always one an uninterrupted run passes through.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HELD = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2") if hasattr(signal, name)
)


@contextmanager
def held_until_done() -> Iterator[None]:
    """Hold the stopping signals for the duration of the block; deliver any that came, in order,
    to the handlers in place before it. Only the main thread can handle signals: elsewhere it is a
    no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {}
    for signum in HELD:
        handler = signal.getsignal(signum)
        if handler is not None:  # None: a handler installed outside Python, left alone
            previous[signum] = signal.signal(signum, lambda s, _frame: pending.append(s))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in pending:
            signal.raise_signal(signum)
