"""Interrupts that wait for the end of a training iteration.

Ctrl-C, SIGTERM or a cluster's time-limit signal that lands between D's step and G's would have the
run save a state half an iteration on: resumed, D would take that step a second time. Held here,
the signal reaches its handler (Lightning's, submitit's, Python's) once G has stepped, so the saved
state is always one an uninterrupted run passes through.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOPPING = tuple(
    getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2") if hasattr(signal, n)
)


class HeldSignals:
    """Handlers installed once, in front of those in place, that hold a stopping signal while
    `holding` is set and pass it on otherwise: setting a flag per iteration costs nothing, where
    swapping handlers per iteration costs tens of microseconds."""

    def __init__(self) -> None:
        self.holding = False
        self._pending: list[int] = []
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        """Only the main thread can handle signals: elsewhere nothing is installed or held."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in STOPPING:
            if signal.getsignal(signum) is not None:  # None: installed outside Python, left alone
                self._previous[signum] = signal.signal(signum, self._handle)

    def uninstall(self) -> None:
        """Put back the handlers found at install, where nobody has replaced ours since."""
        for signum, handler in self._previous.items():
            if signal.getsignal(signum) == self._handle:
                signal.signal(signum, handler)
        self._previous.clear()
        self.holding = False

    def release(self) -> None:
        """Stop holding and pass on, in order, the signals that came meanwhile."""
        self.holding = False
        pending, self._pending = self._pending, []
        for signum in pending:
            self._pass_on(signum, None)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self._pending.append(signum)
        else:
            self._pass_on(signum, frame)

    def _pass_on(self, signum: int, frame: FrameType | None) -> None:
        handler = self._previous.get(signum, signal.SIG_DFL)
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:  # the default action (for SIGTERM: the process ends)
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
