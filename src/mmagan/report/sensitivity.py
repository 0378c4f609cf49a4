"""MMA-GAN's hyperparameters at a protocol where the methods settle: findings as data, then figures.

A setting (K, lambda, tau) takes its runs from every sweep folder that ran it at the benchmark's
data and budget (the K x lambda x tau grid, the K axis, the lambda axis and the results sweep's
own MMA-GAN), one run per seed. Each setting is compared with the benchmark's best baseline per
metric (Welch's 95 % interval over seeds); the figures only draw what the findings hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mmagan.plots import save_figure
from mmagan.report.heads import heads_over_modes, live_heads, modes_per_head
from mmagan.report.numbers import sig
from mmagan.report.plots import finish_heatmaps, label_panel
from mmagan.report.stats import Difference, lower_is_better, verdict, welch_difference
from mmagan.report.tables import Row
from mmagan.runs.listing import RunRecord, find_runs, finished

# The sweep folders whose MMA-GAN runs are settings of one benchmark (globs under the sweeps root).
SETTING_SWEEPS = ("sensitivity_*", "heads_k_*", "lambda_tradeoff_*", "results_*")
# The paper's axes, and the setting the K and lambda axes hold the others at.
PAPER_K, PAPER_LAMBDAS, PAPER_TAUS = (4, 8, 16), (0.1, 0.5, 1.0), (0.3, 0.5, 0.7)
AXIS_LAMBDA, AXIS_TAU, AXIS_K = 0.5, 0.5, 8

Key = tuple[int, float, float]  # (K, lambda, tau)


@dataclass
class Setting:
    """One (K, lambda, tau) of the paper's MMA-GAN with its runs, one per seed."""

    K: int
    lam: float
    tau: float
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.K, self.lam, self.tau)

    @property
    def seeds(self) -> int:
        return len(self.runs)

    def values(self, metric: str) -> list[float]:
        return [r.metrics[metric] for r in self.runs if metric in r.metrics]


@dataclass(frozen=True)
class Comparison:
    """A setting minus the best baseline on one metric, with its 95 % interval and verdict."""

    key: Key
    metric: str
    mean: float
    seeds: int
    difference: Difference
    verdict: str  # "better", "worse", "no difference shown", "no difference" or "" (no interval)


def collect_settings(sweeps_root: Path, data: str, iterations: int | None) -> dict[Key, Setting]:
    """The paper-variant MMA-GAN runs on `data` at `iterations`, grouped by setting, one per seed
    (the first folder found wins where two sweeps ran the same setting and seed)."""
    folders = sorted({p for pattern in SETTING_SWEEPS for p in sweeps_root.glob(pattern) if p.is_dir()})
    settings: dict[Key, Setting] = {}
    seen: set[tuple[Key, int | None]] = set()
    for folder in folders:
        for r in finished(find_runs([folder])):
            paper = r.studied and not r.variant and not r.params
            if not paper or r.data != data or r.iterations != iterations:
                continue
            key = (int(r.K), float(r.lam), float(r.tau))
            if (key, r.seed) in seen:
                continue
            seen.add((key, r.seed))
            settings.setdefault(key, Setting(*key)).runs.append(r)
    return dict(sorted(settings.items()))


def compare_settings(
    settings: dict[Key, Setting], baselines: dict[str, Row], metrics: list[str]
) -> list[Comparison]:
    """Every setting against the best baseline of each metric."""
    out = []
    for metric in metrics:
        best = baselines.get(metric)
        if best is None:
            continue
        for s in settings.values():
            values = s.values(metric)
            if values:
                d = welch_difference(values, best.values(metric))
                out.append(
                    Comparison(s.key, metric, float(np.mean(values)), len(values), d, verdict(d, metric))
                )
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def in_paper_grid(key: Key) -> bool:
    return key[0] in PAPER_K and key[1] in PAPER_LAMBDAS and key[2] in PAPER_TAUS


def grid_keys(settings: dict[Key, Setting]) -> list[Key]:
    """The settings of the paper's 27 that have runs."""
    return [k for k in settings if in_paper_grid(k)]


def grid_comparisons(comparisons: list[Comparison]) -> list[Comparison]:
    """The comparisons of the paper's 27 settings."""
    return [
        c for c in comparisons if c.key[0] in PAPER_K and c.key[1] in PAPER_LAMBDAS and c.key[2] in PAPER_TAUS
    ]


def grid_sentence(comparisons: list[Comparison], metric: str, title: str, best: Row) -> str:
    """Whether any of the paper's settings beats the best baseline on one metric, with how many
    intervals were made in all (so that a chance exclusion can be weighed)."""
    on = [c for c in grid_comparisons(comparisons) if c.metric == metric]
    tested = [c for c in on if c.verdict]
    made = len([c for c in grid_comparisons(comparisons) if c.verdict])
    better = [c for c in tested if c.verdict == "better"]
    worse = [c for c in tested if c.verdict == "worse"]

    def names(cs: list[Comparison]) -> str:
        return "; ".join(
            f"K={c.key[0]} lambda={c.key[1]:g} tau={c.key[2]:g} "
            f"({sig(c.difference.diff, signed=True)} [{sig(c.difference.low, signed=True)}, "
            f"{sig(c.difference.high, signed=True)}])"
            for c in cs
        )

    untested = len(on) - len(tested)
    head = (
        f"**{title}**: of {_count(len(on), 'setting')}, {len(tested)} with an interval against {best.label}"
        + (f" ({untested} with fewer than two seeds)" if untested else "")
        + f"; {len(better)} shown better, {len(worse)} shown worse, the rest no difference shown. "
    )
    chance = (
        f"Over the {made} intervals of this page's grid (every metric), about {made * 0.05:.1f} would "
        "exclude 0 by chance alone."
    )
    detail = "".join(f" Better: {names(better)}." if better else "") + (
        f" Worse: {names(worse)}." if worse else ""
    )
    return head + chance + detail


def heatmap_figure(
    settings: dict[Key, Setting], comparisons: list[Comparison], metric: str, data: str
) -> Figure:
    """One panel per tau, K down and lambda across: the mean over seeds, the seed count, and a
    marker where the interval against the best baseline excludes 0 (+ better, - worse)."""
    marks = {
        c.key: {"better": "+", "worse": "-"}.get(c.verdict, "") for c in comparisons if c.metric == metric
    }
    grid = {k: s for k, s in settings.items() if k in {c.key for c in grid_comparisons(comparisons)}}
    Ks, lams, taus = (sorted({k[i] for k in grid}) for i in range(3))
    fig = Figure(figsize=(3.3 * len(taus) + 1.2, 3.6), layout="constrained")
    axes = fig.subplots(1, len(taus), squeeze=False, sharey=True)[0]
    cmap = "viridis_r" if lower_is_better(metric) else "viridis"
    means = [np.mean(s.values(metric)) for s in grid.values() if s.values(metric)]
    for ax, tau in zip(axes, taus):
        table = np.full((len(Ks), len(lams)), np.nan)
        for (k, lam, t), s in grid.items():
            if t == tau and s.values(metric):
                i, j = Ks.index(k), lams.index(lam)
                table[i, j] = np.mean(s.values(metric))
                text = f"{sig(table[i, j])}{marks.get((k, lam, t), '')}\nn={len(s.values(metric))}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white")
                if marks.get((k, lam, t)):
                    ax.add_patch(_frame(j, i))
        image = ax.imshow(table, cmap=cmap, vmin=min(means), vmax=max(means), aspect="auto")
        label_panel(ax, Ks, lams, tau)
    better = "lower" if lower_is_better(metric) else "higher"
    title = (
        f"{data}: {metric} (mean over seeds, {better} is better; framed +/-: 95 % interval "
        "against the best baseline excludes 0)"
    )
    finish_heatmaps(fig, axes, image, title, fontsize=9)
    return fig


def _frame(x: float, y: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.48, y - 0.48), 0.96, 0.96, fill=False, edgecolor="red", linewidth=2.5)


def _mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else 0.0


def k_axis(settings: dict[Key, Setting]) -> list[Setting]:
    """The settings at lambda 0.5, tau 0.5, by K."""
    return [s for (k, lam, tau), s in settings.items() if lam == AXIS_LAMBDA and tau == AXIS_TAU]


def lambda_axis(settings: dict[Key, Setting]) -> list[Setting]:
    """The settings at K 8, tau 0.5, by lambda."""
    return [s for (k, lam, tau), s in settings.items() if k == AXIS_K and tau == AXIS_TAU]


@dataclass(frozen=True)
class HeadsAtK:
    """Live heads and modes per head of one K, mean and standard error over the runs that have
    their heads measured (heads.json or the final checkpoint)."""

    K: int
    runs: int
    live: tuple[float, float]
    per_head: tuple[float, float]


def heads_along_k(axis: list[Setting]) -> list[HeadsAtK]:
    """The heads' specialisation for each K of the K axis."""
    out = []
    for s in axis:
        acts = [a for a in (heads_over_modes(r) for r in s.runs) if a is not None]
        if acts:
            live = [float(live_heads(a).sum()) for a in acts]
            per_head = [modes_per_head(a) for a in acts]
            out.append(HeadsAtK(s.K, len(acts), _mean_se(live), _mean_se(per_head)))
    return out


def k_figure(
    axis: list[Setting],
    heads: list[HeadsAtK],
    metrics: list[tuple[str, str]],
    baselines: dict[str, Row],
    modes: int,
) -> Figure:
    """Each metric against K (mean ± s.e. over seeds, the best baseline as a band), then the heads'
    live count and modes per head against K."""
    panels = len(metrics) + (2 if heads else 0)
    fig = Figure(figsize=(3.2 * panels, 3.2), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    Ks = [s.K for s in axis]
    for ax, (metric, title) in zip(axes, metrics):
        points = [(s.K, *_mean_se(s.values(metric))) for s in axis if s.values(metric)]
        ax.errorbar(
            [p[0] for p in points], [p[1] for p in points], yerr=[p[2] for p in points], marker="o", capsize=3
        )
        best = baselines.get(metric)
        if best is not None:
            m, se = _mean_se(best.values(metric))
            ax.axhspan(m - se, m + se, color="grey", alpha=0.3, label=f"{best.label} (± s.e.)")
            ax.legend(fontsize=7)
        ax.axvline(modes, color="k", linestyle=":", linewidth=1)
        _k_axis_ticks(ax, Ks)
        ax.set_title(title, fontsize=9)
    if heads:
        for ax, attr, title in zip(
            axes[len(metrics) :], ("live", "per_head"), ("live heads", "modes per live head")
        ):
            ax.errorbar(
                [h.K for h in heads],
                [getattr(h, attr)[0] for h in heads],
                yerr=[getattr(h, attr)[1] for h in heads],
                marker="o",
                capsize=3,
            )
            if attr == "live":
                ax.plot(Ks, Ks, "k--", linewidth=1, label="every head")
                ax.legend(fontsize=7)
            ax.axvline(modes, color="k", linestyle=":", linewidth=1)
            _k_axis_ticks(ax, Ks)
            ax.set_title(title, fontsize=9)
    fig.suptitle(
        f"K against the number of modes ({modes}, dotted); lambda {AXIS_LAMBDA:g}, tau {AXIS_TAU:g}; "
        "mean ± s.e. over seeds",
        fontsize=9,
    )
    return fig


def _k_axis_ticks(ax, Ks: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(Ks, [str(k) for k in Ks], rotation=45, fontsize=7)  # 25 and 32 sit close on log2
    ax.minorticks_off()
    ax.set_xlabel("K")


def lambda_figure(axis: list[Setting], baselines: dict[str, Row]) -> Figure:
    """% high quality against modes and against reverse KL, one point per lambda with its bars."""
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, x_metric, x_title in zip(
        axes,
        ("modes/modes", "modes/reverse_kl"),
        ("modes captured (higher is better)", "reverse KL (lower is better)"),
    ):
        for s in axis:
            if s.values(x_metric) and s.values("modes/high_quality_pct"):
                x, xe = _mean_se(s.values(x_metric))
                y, ye = _mean_se(s.values("modes/high_quality_pct"))
                ax.errorbar(x, y, xerr=xe, yerr=ye, marker="o", capsize=3, color="tab:blue")
                ax.annotate(f"λ={s.lam:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        best = baselines.get(x_metric)
        if best is not None and best.values("modes/high_quality_pct"):
            x, xe = _mean_se(best.values(x_metric))
            y, ye = _mean_se(best.values("modes/high_quality_pct"))
            ax.errorbar(x, y, xerr=xe, yerr=ye, marker="s", capsize=3, color="grey", label=best.label)
            ax.legend(fontsize=7)
        ax.set_xlabel(x_title)
        ax.set_ylabel("% high quality (higher is better)")
    fig.suptitle(
        f"The quality-diversity trade-off in lambda (K {AXIS_K}, tau {AXIS_TAU:g}; mean ± s.e.)", fontsize=9
    )
    return fig


def lambda_reading(axis: list[Setting]) -> str:
    """Whether a larger lambda buys diversity at a cost in quality: the largest lambda minus the
    smallest, on modes and on % high quality, with 95 % intervals."""
    ranked = [s for s in axis if s.seeds]
    if len(ranked) < 2:
        return "The lambda axis has fewer than two settings run: no reading yet."
    low, high = ranked[0], ranked[-1]
    parts, said = [], {}
    for metric, title in (("modes/modes", "modes"), ("modes/high_quality_pct", "% high quality")):
        d = welch_difference(high.values(metric), low.values(metric))
        said[metric] = verdict(d, metric)
        interval = (
            "no interval (fewer than two seeds)"
            if math.isnan(d.low)
            else (f"[{sig(d.low, signed=True)}, {sig(d.high, signed=True)}]")
        )
        parts.append(f"{title} {sig(d.diff, signed=True)} {interval}")
    if said["modes/modes"] == "better" and said["modes/high_quality_pct"] == "worse":
        claim = "the paper's claim holds here: more modes, fewer high-quality samples."
    elif not all(said.values()):
        claim = "too few seeds to judge the paper's claim yet."
    elif said["modes/modes"] != "better":
        claim = "the paper's claim is not shown here: a larger lambda did not give more modes."
    else:
        claim = "more modes, with no cost in quality shown."
    return f"lambda {high.lam:g} minus lambda {low.lam:g}: " + "; ".join(parts) + f"; {claim}"


def sensitivity_section(
    sweeps_root: Path,
    data: str,
    iterations: int,
    modes: int,
    baselines: dict[str, Row],
    metrics: list[tuple[str, str]],
    assets: Path,
    name: str,
) -> list[str]:
    """The Markdown of one benchmark's hyperparameter study, its figures written into `assets`."""
    settings = collect_settings(sweeps_root, data, iterations)
    if len(settings) < 2:  # the results sweep's one setting: its table says it all
        return []
    comparisons = compare_settings(settings, baselines, [m for m, _ in metrics])
    md = ["", f"## MMA-GAN's hyperparameters on {data} at {iterations:,} iterations (`{name}`)", ""]
    md += [
        f"{_count(sum(s.seeds for s in settings.values()), 'finished run')} in "
        f"{_count(len(settings), 'setting')} ({_count(len(grid_keys(settings)), 'setting')} of the paper's "
        f"{len(PAPER_K) * len(PAPER_LAMBDAS) * len(PAPER_TAUS)}), taken from every sweep folder that ran a "
        "setting at this data and budget. Each setting is compared with the best baseline of each metric "
        "(95 % interval over seeds, Welch); `n` in a cell is its seed count."
    ]
    grid = grid_comparisons(comparisons)
    if grid:
        md += ["", "### K x lambda x tau", ""]
        for metric, title in metrics:
            best = baselines.get(metric)
            if best is None:
                continue
            fig = heatmap_figure(settings, comparisons, metric, data)
            path = save_figure(
                fig, assets / f"sensitivity_{name}_{metric.split('/')[-1]}.png", dpi=80, tight=False
            )
            md += [
                f"![{path.stem}](results/{path.name})",
                "",
                "- " + grid_sentence(comparisons, metric, title, best),
                "",
            ]
    k_settings = k_axis(settings)
    if len(k_settings) > 1:
        heads = heads_along_k(k_settings)
        path = save_figure(
            k_figure(k_settings, heads, metrics, baselines, modes),
            assets / f"k_axis_{name}.png",
            dpi=80,
            tight=False,
        )
        md += ["", "### K against the number of modes", "", f"![{path.stem}](results/{path.name})", ""]
        md += [
            "Seeds per K: "
            + ", ".join(f"K={s.K} {s.seeds}" for s in k_settings)
            + ". "
            + (
                "Heads measured per K: " + ", ".join(f"K={h.K} {h.runs}" for h in heads) + "."
                if heads
                else "No run of this axis has its heads measured (heads.json or last.ckpt)."
            )
        ]
    l_settings = lambda_axis(settings)
    if len(l_settings) > 1:
        path = save_figure(
            lambda_figure(l_settings, baselines), assets / f"lambda_axis_{name}.png", dpi=80, tight=False
        )
        md += [
            "",
            "### The quality-diversity trade-off in lambda",
            "",
            f"![{path.stem}](results/{path.name})",
            "",
        ]
        md += ["Seeds per lambda: " + ", ".join(f"lambda={s.lam:g} {s.seeds}" for s in l_settings) + ".", ""]
        md += [lambda_reading(l_settings)]
    return md
