"""The metrics a benchmark's table shows, with their titles."""

from __future__ import annotations

from mmagan.data.toy import MIXTURES

MIXTURE_METRICS = [
    ("modes/modes", "modes"),
    ("modes/high_quality_pct", "% high quality"),
    ("modes/reverse_kl", "reverse KL"),
]
STACKED_METRICS = [("modes/modes", "modes (of 1000)"), ("modes/kl", "KL to uniform")]
STACKED_METRICS_ALL = [("modes/kl", "KL to uniform")]


def metric_columns(data: str) -> list[tuple[str, str]]:
    """The metrics a benchmark's table shows, in order."""
    return MIXTURE_METRICS if data in MIXTURES else STACKED_METRICS
