"""What the study's tables say, as plain data: the best baseline per metric, MMA-GAN and its head
variants against it with intervals, where along the budget they differ, and where the best
baseline settled. `results.py` renders these as Markdown; tests read them directly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmagan.report.curves import Curve, differences_along, flat_from, settled_at
from mmagan.report.stats import Difference, lower_is_better, verdict, welch_difference
from mmagan.report.tables import Row


@dataclass(frozen=True)
class Comparison:
    """a minus b on one metric at the final budget, with its 95 % interval over seeds (Welch)."""

    a: str
    b: str
    metric: str
    difference: Difference
    #: "better" or "worse" (for a; the interval excludes 0), "no difference shown", "no difference"
    #: (every run of both has the same value) or "" (no interval: fewer than two seeds on a side)
    outcome: str


def compare(a: Row, b: Row, metric: str) -> Comparison:
    d = welch_difference(a.values(metric), b.values(metric))
    return Comparison(a.label, b.label, metric, d, verdict(d, metric))


def ranked_by(rows: list[Row], metric: str) -> list[Row]:
    """The rows that report `metric`, best mean first."""
    sign = 1 if lower_is_better(metric) else -1
    return sorted((r for r in rows if r.values(metric)), key=lambda r: sign * np.mean(r.values(metric)))


def best_baseline(ranked: list[Row]) -> Row | None:
    """The best of the other methods with two seeds or more (any, where none has two): a baseline
    on one seed has no interval, and would otherwise displace the comparison that has one."""
    others = [r for r in ranked if not r.studied]
    seeded = [r for r in others if r.seeds >= 2] or others
    return seeded[0] if seeded else None


@dataclass(frozen=True)
class MetricReading:
    """One metric of a benchmark's table at the final budget."""

    metric: str
    ranking: list[tuple[str, float]]  # (method, mean over seeds), best first
    best_baseline: str | None  # with two seeds or more where any baseline has two
    tied_with: list[str]  # other baselines with the best baseline's very mean
    studied_vs_best: Comparison | None  # MMA-GAN (the paper's heads) minus the best baseline
    ahead_on_one_seed: list[str]  # baselines ranked above the best one, on too few seeds to compare


def metric_reading(rows: list[Row], metric: str) -> MetricReading:
    ranked = ranked_by(rows, metric)
    best = best_baseline(ranked)
    mma = next((r for r in ranked if r.studied and not r.variant), None)
    tied, ahead = [], []
    if best is not None:
        top = np.mean(best.values(metric))
        others = [r for r in ranked if not r.studied]
        tied = [r.label for r in others if r is not best and np.mean(r.values(metric)) == top]
        ahead = [r.label for r in others[: others.index(best)] if np.mean(r.values(metric)) != top]
    return MetricReading(
        metric,
        [(r.label, float(np.mean(r.values(metric)))) for r in ranked],
        best.label if best is not None else None,
        tied,
        compare(mma, best, metric) if mma is not None and best is not None else None,
        ahead,
    )


@dataclass(frozen=True)
class VariantFinding:
    """A head variant of MMA-GAN minus the paper's heads and minus the best baseline."""

    metric: str
    variant: str
    vs_paper: Comparison
    vs_best: Comparison | None


def variant_findings(rows: list[Row], metrics: list[str]) -> list[VariantFinding]:
    paper = next((r for r in rows if r.studied and not r.variant), None)
    variants = [r for r in rows if r.studied and r.variant]
    if paper is None:
        return []
    found = []
    for metric in metrics:
        best = best_baseline(ranked_by(rows, metric))
        for v in (v for v in variants if v.values(metric)):
            vs_best = compare(v, best, metric) if best is not None else None
            found.append(VariantFinding(metric, v.label, compare(v, paper, metric), vs_best))
    return found


@dataclass(frozen=True)
class BudgetDifference:
    """Where along the budget a studied method differs from the best baseline at the final budget:
    the validation points at which the 95 % interval (over the seeds there) excludes 0."""

    metric: str
    method: str
    baseline: str
    points: list[int]  # every validation point both curves have
    better: list[int]
    worse: list[int]


def budget_differences(rows: list[Row], curves: dict[str, list[Curve]], metrics: list[str]):
    found = []
    for metric in metrics:
        best = best_baseline(ranked_by(rows, metric))
        if best is None or best.seeds < 2:
            continue
        by_label = {c.label: c for c in curves[metric]}
        for r in (r for r in rows if r.studied and r.label in by_label):
            along = differences_along(by_label[r.label], by_label[best.label])
            said = {p: verdict(d, metric) for p, d in along}
            found.append(
                BudgetDifference(
                    metric,
                    r.label,
                    best.label,
                    [p for p, _ in along],
                    [p for p, _ in along if said[p] == "better"],
                    [p for p, _ in along if said[p] == "worse"],
                )
            )
    return found


@dataclass(frozen=True)
class Settling:
    """Where the best baseline's curves met the stopping rule (two successive validations within
    one standard error) and from where they stayed within it to the budget."""

    baseline: str
    chosen_for_seeds: bool  # a baseline with fewer seeds ranked first at the final budget
    judged: bool  # False with one seed: no standard error to compare successive points with
    settled_at: dict[str, int | None]
    flat_from: dict[str, int | None]
    budget: int


def settling(rows: list[Row], curves: dict[str, list[Curve]], metrics: list[str]) -> Settling | None:
    """Read on the same best baseline the table's comparisons use: the best of every other method
    (the baselines and the literature's remedies) with two seeds or more."""
    baselines = [r for r in rows if not r.studied]
    best = best_baseline(sorted(baselines, key=lambda r: r.rank))
    if best is None:
        return None
    chosen = best is not min(baselines, key=lambda r: r.rank)
    ends = [int(c.iterations.max()) for cs in curves.values() for c in cs if len(c.iterations)]
    budget = max(ends, default=0)
    if best.seeds < 2:
        return Settling(best.label, chosen, False, {}, {}, budget)
    own = {m: next(c for c in curves[m] if c.label == best.label) for m in metrics}
    return Settling(
        best.label,
        chosen,
        True,
        {m: settled_at(c) for m, c in own.items()},
        {m: flat_from(c) for m, c in own.items()},
        budget,
    )
