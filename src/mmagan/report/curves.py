"""Each method's figures over the training budget: mean ± standard error over seeds at every
validation, where a curve settles, and whether the methods' order changes along the way.

A table at one budget ranks how far the methods got by then; a curve shows whether they were still
moving. The runs' CSV logs hold every validation (`modes/*` at step = iteration - 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mmagan.plots import save_figure
from mmagan.report.stats import lower_is_better
from mmagan.report.tables import Row
from mmagan.runs.listing import learning_curve


@dataclass
class Curve:
    """One method's metric over iterations on one benchmark: mean and standard error over seeds
    at each validation, with the seeds behind each point."""

    label: str
    iterations: np.ndarray  # validation points, in generator iterations
    mean: np.ndarray
    se: np.ndarray  # standard error over the seeds at that point; 0 with one seed
    seeds: np.ndarray


def method_curve(row: Row, metric: str) -> Curve:
    """The row's runs' `metric` at each validation point, averaged over the runs that reached it."""
    by_point: dict[int, list[float]] = {}
    for run in row.runs:
        for step, value in learning_curve(run.folder, metric):
            by_point.setdefault(int(step) + 1, []).append(value)
    points = sorted(by_point)
    values = [np.asarray(by_point[p], dtype=float) for p in points]
    se = [v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0 for v in values]
    return Curve(
        row.label,
        np.asarray(points),
        np.asarray([v.mean() for v in values]),
        np.asarray(se),
        np.asarray([len(v) for v in values]),
    )


def settled_at(curve: Curve) -> int | None:
    """The first validation point from which the next one differs by no more than one standard
    error (the larger of the two points'): where the curve has flattened. None if it never does."""
    for i in range(len(curve.mean) - 1):
        if abs(curve.mean[i + 1] - curve.mean[i]) <= max(curve.se[i], curve.se[i + 1]):
            return int(curve.iterations[i])
    return None


def order_at(curves: list[Curve], point: int, metric: str) -> list[str]:
    """Labels ranked best first by their mean at `point` (curves without that point left out)."""
    sign = 1 if lower_is_better(metric) else -1
    present = [
        (sign * float(c.mean[c.iterations == point][0]), c.label) for c in curves if point in c.iterations
    ]
    return [label for _, label in sorted(present)]


def ranking_changes(curves: list[Curve], metric: str) -> str:
    """One sentence: the order of the means at the first and last common validation point, and at
    which points the leader changed."""
    common = sorted(set.intersection(*(set(c.iterations.tolist()) for c in curves))) if curves else []
    if len(common) < 2:
        return "too few validation points to follow the ranking"
    first, last = order_at(curves, common[0], metric), order_at(curves, common[-1], metric)
    leaders = [(p, order_at(curves, p, metric)[0]) for p in common]
    switches = [p for (p, a), (_, b) in zip(leaders[1:], leaders[:-1]) if a != b]
    lead = (
        f"the leader changed at {', '.join(f'{p:,}' for p in switches)} iterations"
        if switches
        else f"{leaders[0][1]} led at every point"
    )
    if first == last:
        return f"the same order at {common[0]:,} and {common[-1]:,} iterations ({', '.join(last)}); {lead}"
    return (
        f"the order changed along the budget: at {common[0]:,} iterations {', '.join(first)}; "
        f"at {common[-1]:,}: {', '.join(last)}; {lead}"
    )


def curves_figure(
    rows: list[Row], metrics: list[tuple[str, str]], title: str, path: Path
) -> tuple[Path, dict[str, list[Curve]]]:
    """One panel per metric, one line per method with its ± standard-error band."""
    curves = {m: [method_curve(r, m) for r in rows] for m, _ in metrics}
    fig = Figure(figsize=(4.4 * len(metrics), 3.6))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, (metric, name) in zip(axes, metrics):
        for c in curves[metric]:
            if not len(c.iterations):
                continue
            (line,) = ax.plot(c.iterations, c.mean, lw=1.2, label=c.label)
            ax.fill_between(c.iterations, c.mean - c.se, c.mean + c.se, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("generator iteration")
        ax.set_title(f"{name} ({'lower' if lower_is_better(metric) else 'higher'} is better)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle(f"{title}: mean ± standard error over seeds", fontsize=10)
    save_figure(fig, path, dpi=80)
    return path, curves
