"""Statistics over seeds: mean +- std per configuration, and the difference of two methods with a
confidence interval (Welch's t, which does not assume equal variances or equal seed counts)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

# Metrics where smaller is better; every other metric (IS, modes, precision, LPIPS ...) is larger-better.
LOWER_IS_BETTER = ("fid", "kid", "kl")
# Ranking order: the first of these a report has decides, the next ones break ties.
RANKING = (
    "eval/fid",
    "metrics/fid",
    "eval/kid",
    "metrics/kid",
    "modes/modes",
    "modes/kl",
    "modes/reverse_kl",
    "modes/high_quality_pct",
    "eval/is",
    "metrics/is",
)


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of `metric` is better (FID, KID, KL; not modes, IS, recall)."""
    name = metric.rsplit("/", 1)[-1]
    return any(part in name for part in LOWER_IS_BETTER)


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and count of one metric over seeds."""

    mean: float
    std: float  # sample standard deviation (ddof 1); 0 for one seed
    n: int


def summarize(values: list[float]) -> Summary:
    """The Summary of `values` (std 0 for a single value)."""
    a = np.asarray(values, dtype=float)
    return Summary(float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0, len(a))


@dataclass(frozen=True)
class Difference:
    """mean(a) - mean(b) with its confidence interval."""

    diff: float  # mean(a) - mean(b)
    low: float  # confidence interval; nan when either side has fewer than two seeds
    high: float


def welch_difference(a: list[float], b: list[float], level: float = 0.95) -> Difference:
    """mean(a) - mean(b) with Welch's t interval at `level` (unequal variances); the interval is
    nan with fewer than two seeds on either side."""
    return welch_interval(summarize(a), summarize(b), level)


def welch_interval(sa: Summary, sb: Summary, level: float = 0.95) -> Difference:
    """welch_difference from each side's mean, standard deviation and count (a curve's point keeps
    these, not the values behind them)."""
    diff = sa.mean - sb.mean
    if sa.n < 2 or sb.n < 2:
        return Difference(diff, math.nan, math.nan)
    va, vb = sa.std**2 / sa.n, sb.std**2 / sb.n
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(diff, diff, diff)
    dof = (va + vb) ** 2 / (va**2 / (sa.n - 1) + vb**2 / (sb.n - 1))
    half = stats.t.ppf(0.5 + level / 2, dof) * se
    return Difference(diff, diff - half, diff + half)


def verdict(d: Difference, metric: str) -> str:
    """What a difference a - b says of a: "better", "worse", "no difference shown" (the interval
    includes 0), "no difference" (every run of both has the same value) or "" (no interval: fewer
    than two seeds on a side)."""
    if math.isnan(d.low):
        return ""
    if d.low == d.high == d.diff == 0:
        return "no difference"
    if d.low <= 0 <= d.high:
        return "no difference shown"
    return "better" if (d.diff < 0) == lower_is_better(metric) else "worse"
