"""One row per configuration (mean +- std over seeds), ranked; best MMA-GAN beside each baseline."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mmagan.report.numbers import sig
from mmagan.report.stats import RANKING, Difference, Summary, lower_is_better, summarize, welch_difference
from mmagan.runs.listing import MethodRole, RunRecord


@dataclass
class Row(MethodRole):
    """One configuration of a sweep (data, method, K, lambda, tau, ...) with its runs over seeds."""

    data: str
    method: str
    K: int | None
    lam: float | None
    tau: float | None
    packing: int | None
    variant: str
    params: str
    runs: list[RunRecord]
    summaries: dict[str, Summary] = field(default_factory=dict)
    rank: int = 0
    settings_in_label: bool = True  # False where a page states MMA-GAN's K, lambda and tau once

    @property
    def seeds(self) -> int:
        return len(self.runs)

    def values(self, metric: str) -> list[float]:
        """The metric's final value in each run of this row that reported it."""
        return [r.metrics[metric] for r in self.runs if metric in r.metrics]

    @property
    def settings(self) -> str:
        return f"K={self.K} lambda={self.lam:g} tau={self.tau:g}"

    @property
    def label(self) -> str:
        extra = f" + {self.params}" if self.params else ""  # options outside the objective's columns
        if self.studied:
            name = f"{self.method}[{self.variant}]" if self.variant else self.method
            return (f"{name} {self.settings}" if self.settings_in_label else name) + extra
        if self.packing is not None:
            return f"{self.method}{self.packing}{extra}"
        return f"{self.method}[{self.params}]" if self.params else self.method


def metric_names(records: list[RunRecord]) -> list[str]:
    """Every metric the runs report: the ranking metrics first, in ranking order, then the rest sorted."""
    names = {m for r in records for m in r.metrics}
    ranked = [m for m in RANKING if m in names]
    return ranked + sorted(names - set(ranked))


def ranking_metrics(metrics: list[str]) -> list[str]:
    """Of `metrics`, those that rank configurations (RANKING), in ranking order."""
    return [m for m in RANKING if m in metrics]


def build_rows(finished: list[RunRecord], metrics: list[str], rank_by: str | None = None) -> list[Row]:
    """Group finished runs by configuration; rank the rows within each data set (by `rank_by`, or
    by the RANKING metrics present, each breaking the previous one's ties)."""
    groups: dict[tuple, list[RunRecord]] = defaultdict(list)
    for record in finished:
        groups[record.configuration].append(record)
    rows = [Row(*key, runs=runs) for key, runs in groups.items()]
    for row in rows:
        row.summaries = {m: summarize(row.values(m)) for m in metrics if row.values(m)}
    order = [rank_by] if rank_by else ranking_metrics(metrics)

    def sort_key(row: Row) -> tuple:
        key = []
        for m in order:
            s = row.summaries.get(m)
            key.append(math.inf if s is None else (s.mean if lower_is_better(m) else -s.mean))
        return (*key, row.label)

    ranked: list[Row] = []
    for data in sorted({r.data for r in rows}):
        in_data = sorted((r for r in rows if r.data == data), key=sort_key)
        for i, row in enumerate(in_data, 1):
            row.rank = i
        ranked += in_data
    return ranked


@dataclass
class Comparison:
    """One method against the best baseline on one metric: the difference and its interval."""

    data: str
    best: Row
    baseline: Row
    differences: dict[str, Difference]


def compare_with_baselines(rows: list[Row], metrics: list[str]) -> list[Comparison]:
    """The best-ranked MMA-GAN configuration of each data set against each other method there (the
    baselines and the literature's remedies)."""
    comparisons = []
    for data in sorted({r.data for r in rows}):
        mmagan = [r for r in rows if r.data == data and r.studied]
        if not mmagan:
            continue
        best = min(mmagan, key=lambda r: r.rank)
        for baseline in (r for r in rows if r.data == data and not r.studied):
            differences = {
                m: welch_difference(best.values(m), baseline.values(m))
                for m in metrics
                if best.values(m) and baseline.values(m)
            }
            comparisons.append(Comparison(data, best, baseline, differences))
    return comparisons


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return sig(x, digits)


def _mean_std(s: Summary) -> str:
    """`mean ± std`, or the value alone from one seed (which has no spread to show)."""
    return f"{_fmt(s.mean)} ± {_fmt(s.std, 2)}" if s.n > 1 else _fmt(s.mean)


def write_csv(rows: list[Row], metrics: list[str], path: Path) -> None:
    """One CSV row per configuration: mean and std over seeds of every metric."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["rank", "data", "method", "K", "lambda", "tau", "seeds"]
            + [f"{m} {part}" for m in metrics for part in ("mean", "std")]
        )
        for row in rows:
            cells = [row.rank, row.data, row.method, row.K, row.lam, row.tau, row.seeds]
            for m in metrics:
                s = row.summaries.get(m)
                cells += [s.mean, s.std] if s else ["", ""]
            out.writerow(["" if c is None else c for c in cells])


def markdown_table(header: list[str], lines: list[list[str]]) -> str:
    """A Markdown table of `header` and `rows`."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def rows_markdown(rows: list[Row], metrics: list[str]) -> str:
    """The configurations as a Markdown table, mean ± std over seeds."""
    header = ["rank", "method", "K", "lambda", "tau", "seeds"] + [
        f"{m} {'(lower better)' if lower_is_better(m) else ''}".strip() for m in metrics
    ]
    lines = []
    for row in rows:
        axes = ["-" if x is None else f"{x:g}" for x in (row.K, row.lam, row.tau)]
        cells = [str(row.rank), row.method, *axes, str(row.seeds)]
        for m in metrics:
            s = row.summaries.get(m)
            cells.append(_mean_std(s) if s else "")
        lines.append(cells)
    return markdown_table(header, lines)


def comparison_markdown(c: Comparison) -> str:
    """MMA-GAN against each baseline, with Welch intervals, as Markdown."""
    lines = []
    for m, d in c.differences.items():
        b, o = c.best.summaries[m], c.baseline.summaries[m]
        ci = "n/a (needs 2 seeds each)" if math.isnan(d.low) else f"[{_fmt(d.low)}, {_fmt(d.high)}]"
        lines.append([m, _mean_std(b), _mean_std(o), _fmt(d.diff), ci])
    header = ["metric", c.best.label, c.baseline.label, "difference", "95% CI (Welch)"]
    return markdown_table(header, lines)
