"""The finiteness check of the training losses, without a host read in a healthy iteration.

Each iteration's two losses are copied to a ring on the device (no host read). The rows since the
last check are read at log steps, when the ring comes round (so no row is overwritten unread), and
at least every `check_seconds` of wall time, so a run that diverges between two distant log steps
stops within seconds rather than at the next log step. On a GPU each read is one host-device
round trip: a few per minute cost nothing measurable.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from mmagan.errors import NonFiniteLossError

# Iterations between ring checks when logging is rarer (a host read every 1,024 iterations).
LOSS_RING_ROWS = 1024


class LossGuard(nn.Module):
    """Records (loss_d, loss_g) per iteration on the device; raises NonFiniteLossError naming the
    first iteration with a NaN or infinite loss when checked."""

    def __init__(
        self, log_every: int, check_seconds: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.register_buffer("ring", torch.zeros(min(max(1, log_every), LOSS_RING_ROWS), 2), persistent=False)
        self.check_seconds = float(check_seconds)  # 0: only at log steps and when the ring comes round
        self.checked_until = 0
        self._clock = clock
        self._last_check = clock()

    def start(self, iteration: int) -> None:
        """Iterations before `iteration` (a resumed run's) count as checked."""
        self.checked_until = iteration
        self._last_check = self._clock()

    def record(self, iteration: int, loss_d: Tensor, loss_g: Tensor) -> None:
        """Iteration `iteration`'s losses to its row: a copy on the device, no host read."""
        torch.stack([loss_d.detach(), loss_g.detach()], out=self.ring[iteration % len(self.ring)])

    def due(self, iteration: int, log_step: bool) -> bool:
        """Whether to check after `iteration`: a log step, the ring full, or `check_seconds` passed."""
        if log_step or iteration % len(self.ring) == 0:
            return True
        return self.check_seconds > 0 and self._clock() - self._last_check >= self.check_seconds

    def check(self, iteration: int) -> None:
        """Raise NonFiniteLossError if a loss recorded after the last check and up to `iteration` is
        not finite: the one host read."""
        self._last_check = self._clock()
        start = max(self.checked_until, iteration - len(self.ring))
        if iteration <= start:
            return
        iterations = torch.arange(start + 1, iteration + 1, device=self.ring.device)
        rows = self.ring[iterations % len(self.ring)]
        bad = ~torch.isfinite(rows).all(dim=1)
        if bool(bad.any()):
            first = int(bad.nonzero()[0])
            loss_d, loss_g = rows[first].tolist()
            raise NonFiniteLossError(
                f"non-finite loss at iteration {int(iterations[first])} (seen at iteration {iteration}): "
                f"loss_d={loss_d:.4g}, loss_g={loss_g:.4g}; "
                "no checkpoint of this state was written, the last one before it is kept"
            )
        self.checked_until = iteration
