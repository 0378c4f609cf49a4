"""Report figures: each metric over (K, lambda) for each tau, and learning curves per configuration."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

# Figure objects, not pyplot: no global backend is chosen at import and no window can open.
from matplotlib.figure import Figure

from mmagan.plots import save_figure
from mmagan.report.numbers import sig
from mmagan.report.stats import lower_is_better
from mmagan.report.tables import Row
from mmagan.runs.listing import learning_curve


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def heatmaps(rows: list[Row], metrics: list[str], out_dir: Path) -> list[Path]:
    """heatmap_<data>_<metric>.png: one panel per tau, K down, lambda across, mean over seeds."""
    written = []
    for data in sorted({r.data for r in rows}):
        grid = [r for r in rows if r.data == data and r.studied]
        for metric in metrics:
            if any(metric in r.summaries for r in grid):
                path = out_dir / f"heatmap_{_slug(data)}_{_slug(metric)}.png"
                written.append(save_figure(heatmap_figure(grid, metric, data), path, tight=False))
    return written


def heatmap_figure(grid: list[Row], metric: str, data: str) -> Figure:
    """The panels share K and one colour scale, so only the first carries the K axis and one
    colour bar serves all; the constrained layout keeps titles and labels apart."""
    Ks = sorted({r.K for r in grid})
    lams = sorted({r.lam for r in grid})
    taus = sorted({r.tau for r in grid})
    fig = Figure(figsize=(3.2 * len(taus) + 1.2, 3.4), layout="constrained")
    axes = fig.subplots(1, len(taus), squeeze=False, sharey=True)[0]
    cmap = "viridis_r" if lower_is_better(metric) else "viridis"
    values = [r.summaries[metric].mean for r in grid if metric in r.summaries]
    vmin, vmax = min(values), max(values)
    for ax, tau in zip(axes, taus):
        table = np.full((len(Ks), len(lams)), np.nan)
        for r in grid:
            if r.tau == tau and metric in r.summaries:
                table[Ks.index(r.K), lams.index(r.lam)] = r.summaries[metric].mean
        image = ax.imshow(table, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        for (i, j), v in np.ndenumerate(table):
            ax.text(j, i, "" if np.isnan(v) else sig(v), ha="center", va="center", fontsize=8)
        label_panel(ax, Ks, lams, tau)
    finish_heatmaps(fig, axes, image, f"{data}: {metric} (mean over seeds, {_better(metric)} is better)")
    return fig


def _better(metric: str) -> str:
    return "lower" if lower_is_better(metric) else "higher"


def label_panel(ax, Ks: list[int], lams: list[float], tau: float) -> None:
    """A (K x lambda) panel's ticks and title."""
    ax.set_xticks(range(len(lams)), [f"{x:g}" for x in lams])
    ax.set_yticks(range(len(Ks)), [str(k) for k in Ks])
    ax.set_xlabel("lambda")
    ax.set_title(f"tau = {tau:g}")


def finish_heatmaps(fig: Figure, axes, image, title: str, fontsize: float = 10) -> None:
    """The K axis on the first panel, one colour bar for the shared scale, the title."""
    axes[0].set_ylabel("K")
    fig.colorbar(image, ax=axes.tolist(), shrink=0.8)
    fig.suptitle(title, fontsize=fontsize)


def learning_curves(rows: list[Row], metric: str, out_dir: Path, top: int = 5) -> list[Path]:
    """curves_<data>_<metric>.png: the metric over iterations, mean over seeds, for the best `top`
    MMA-GAN configurations and every baseline (all 27 lines would hide each other)."""
    written = []
    for data in sorted({r.data for r in rows}):
        in_data = [r for r in rows if r.data == data]
        shown = sorted((r for r in in_data if r.studied), key=lambda r: r.rank)[:top]
        shown += [r for r in in_data if not r.studied]
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        drawn = 0
        for row in shown:
            by_step: dict[float, list[float]] = defaultdict(list)
            for run in row.runs:
                for step, value in learning_curve(run.folder, metric):
                    by_step[step].append(value)
            if by_step:
                steps = sorted(by_step)
                ax.plot(steps, [np.mean(by_step[s]) for s in steps], marker=".", label=row.label)
                drawn += 1
        if drawn:
            ax.set_xlabel("iteration")
            ax.set_ylabel(metric)
            ax.set_title(f"{data}: {metric}, mean over seeds")
            ax.legend(fontsize=7)
            path = out_dir / f"curves_{_slug(data)}_{_slug(metric)}.png"
            save_figure(fig, path, tight=False, bbox_inches="tight")
            written.append(path)
    return written
