"""Each method's figures over the training budget: mean ± standard error over seeds at every
validation, where a curve settles, and whether the methods' order changes along the way.

A table at one budget ranks how far the methods got by then; a curve shows whether they were still
moving. The runs' CSV logs hold every validation (`modes/*` at step = iteration - 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from mmagan.report.stats import Difference, Summary, lower_is_better, welch_interval
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


def _steps_within_se(curve: Curve) -> list[bool]:
    """For each pair of successive validation points: whether they differ by no more than one
    standard error (the larger of the two points')."""
    m, se = curve.mean, curve.se
    return [abs(m[i + 1] - m[i]) <= max(se[i], se[i + 1]) for i in range(len(m) - 1)]


def settled_at(curve: Curve) -> int | None:
    """The first validation point from which the next one is within one standard error: where the
    curve has flattened. None if it never does."""
    within = _steps_within_se(curve)
    return int(curve.iterations[within.index(True)]) if True in within else None


def flat_from(curve: Curve) -> int | None:
    """The first validation point from which every later pair of successive points is within one
    standard error: where the curve flattened and stayed flat. None if its last step is larger."""
    start = None
    for i, within in enumerate(_steps_within_se(curve)):
        start = (start if start is not None else int(curve.iterations[i])) if within else None
    return start


def order_at(curves: list[Curve], point: int, metric: str) -> list[str]:
    """Labels ranked best first by their mean at `point` (curves without that point left out)."""
    sign = 1 if lower_is_better(metric) else -1
    present = [
        (sign * float(c.mean[c.iterations == point][0]), c.label) for c in curves if point in c.iterations
    ]
    return [label for _, label in sorted(present)]


def order_text(curves: list[Curve], point: int, metric: str) -> str:
    """The order at `point` as text, methods with equal means joined by " = " (their order among
    themselves means nothing)."""
    groups: list[list[str]] = []
    last = None
    by_label = {c.label: c for c in curves}
    for label in order_at(curves, point, metric):
        mean = value_at(by_label[label], point)[0]
        if groups and mean == last:
            groups[-1].append(label)
        else:
            groups.append([label])
        last = mean
    return ", ".join(" = ".join(g) for g in groups)


def value_at(curve: Curve, point: int) -> tuple[float, float, int]:
    """The curve's mean, standard error and seeds at a validation point."""
    i = int(np.flatnonzero(curve.iterations == point)[0])
    return float(curve.mean[i]), float(curve.se[i]), int(curve.seeds[i])


def differences_along(a: Curve, b: Curve) -> list[tuple[int, Difference]]:
    """a minus b at every validation point both reached, with Welch's 95 % interval over the seeds
    at that point."""

    def summary(curve: Curve, point: int) -> Summary:
        mean, se, n = value_at(curve, point)
        return Summary(mean, se * math.sqrt(n), n)

    points = sorted(set(a.iterations.tolist()) & set(b.iterations.tolist()))
    return [(int(p), welch_interval(summary(a, p), summary(b, p))) for p in points]


def clear_switch(curves: list[Curve], point: int, new: str, old: str, metric: str) -> bool | None:
    """Whether `new` leads `old` at `point` by more than their standard errors combined; None when
    either has a single seed there (no standard error to tell a change from noise)."""
    by_label = {c.label: c for c in curves}
    (m_new, se_new, n_new), (m_old, se_old, n_old) = (value_at(by_label[x], point) for x in (new, old))
    if min(n_new, n_old) < 2:
        return None
    lead = (m_old - m_new) if lower_is_better(metric) else (m_new - m_old)
    return lead > math.hypot(se_new, se_old)


def ranking_changes(curves: list[Curve], metric: str) -> str:
    """One sentence: the order of the means at the first and last common validation point, at
    which points the leader changed, and which of those changes stand out of the seeds' spread."""
    common = sorted(set.intersection(*(set(c.iterations.tolist()) for c in curves))) if curves else []
    if len(common) < 2:
        return "too few validation points to follow the ranking"
    first = order_at(curves, common[0], metric)
    by_label = {c.label: c for c in curves}
    sign = -1 if lower_is_better(metric) else 1
    leader, switches, shared = first[0], [], False
    for p in common:
        best = order_at(curves, p, metric)[0]
        best_mean, leader_mean = value_at(by_label[best], p)[0], value_at(by_label[leader], p)[0]
        # A tie (8 of 8 modes for several methods) keeps the leader: only a strictly better mean takes over.
        if sign * best_mean > sign * leader_mean:
            switches.append((p, best, leader))
            leader = best
        elif sum(value_at(c, p)[0] == leader_mean for c in curves) > 1:
            shared = True
    if switches:
        clear = [clear_switch(curves, p, new, old, metric) for p, new, old in switches]
        at = ", ".join(f"{p:,}" for p, _, _ in switches)
        if any(c is None for c in clear):
            beyond = "a single seed at some of them, so they cannot be told from noise"
        elif any(clear):
            beyond = "by more than one standard error at " + ", ".join(
                f"{p:,}" for (p, _, _), c in zip(switches, clear) if c
            )
        else:
            beyond = "none by more than one standard error"
        lead = f"the leader changed at {at} iterations ({beyond})"
    else:
        lead = f"{leader} {'led or shared the lead' if shared else 'led'} at every point"
    first_text, last_text = (order_text(curves, p, metric) for p in (common[0], common[-1]))
    if first_text == last_text:
        return f"the same order at {common[0]:,} and {common[-1]:,} iterations ({last_text}); {lead}"
    return (
        f"the order changed along the budget: at {common[0]:,} iterations {first_text}; "
        f"at {common[-1]:,}: {last_text}; {lead}"
    )


# Divergences span orders of magnitude between methods (a collapsed run's reverse KL is a hundred
# times a converged one's): on a linear axis every converged curve lies flat on zero.
LOG_SCALE = ("modes/reverse_kl", "modes/kl")


def curves_figure(
    rows: list[Row], metrics: list[tuple[str, str]], title: str
) -> tuple[Figure, dict[str, list[Curve]]]:
    """One panel per metric, one line per method with its ± standard-error band; the legend sits
    below the panels, where no curve runs under it."""
    curves = {m: [method_curve(r, m) for r in rows] for m, _ in metrics}
    fig = Figure(figsize=(4.4 * len(metrics), 4.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, (metric, name) in zip(axes, metrics):
        for c in curves[metric]:
            if not len(c.iterations):
                continue
            (line,) = ax.plot(c.iterations, c.mean, lw=1.2, label=c.label)
            ax.fill_between(c.iterations, c.mean - c.se, c.mean + c.se, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("generator iteration")
        better = f"{'lower' if lower_is_better(metric) else 'higher'} is better"
        means = [v for c in curves[metric] for v in c.mean]
        if metric in LOG_SCALE and means and min(means) > 0:
            ax.set_yscale("log")
            better += ", log scale"
        ax.set_title(f"{name} ({better})", fontsize=9)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, labels, loc="outside lower center", ncol=min(len(handles), 3), fontsize=7, frameon=False
        )
    fig.suptitle(f"{title}: mean ± standard error over seeds", fontsize=10)
    return fig, curves
