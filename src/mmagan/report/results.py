"""docs/results.md from the study's sweep folders: per benchmark the methods' mean ± standard error
over seeds, the published numbers of the same protocol, the sensitivity heatmaps, the diagnostics of
one representative MMA-GAN run, and whether D's heads specialise on the true modes. The findings
come from findings.py as data; this module writes them as Markdown.

    mmagan-report --results outputs/sweeps --out docs
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmagan.data.toy import MIXTURES
from mmagan.plots import save_figure
from mmagan.report.columns import metric_columns
from mmagan.report.curves import Curve, curves_figure, ranking_changes
from mmagan.report.findings import (
    Comparison,
    best_baseline,
    budget_differences,
    metric_reading,
    ranked_by,
    settling,
    variant_findings,
)
from mmagan.report.heads import head_activation_plot, head_map_plot, heads_over_modes, specialisation_table
from mmagan.report.numbers import sig
from mmagan.report.plots import heatmaps
from mmagan.report.published import published
from mmagan.report.sensitivity import sensitivity_section
from mmagan.report.stats import lower_is_better
from mmagan.report.tables import Row, build_rows, markdown_table
from mmagan.runs.listing import RunRecord, find_runs, finished
from mmagan.runs.sweep_jobs import read_metrics

__all__ = ["heads_over_modes", "write_results"]


@dataclass
class Benchmark:
    """The runs of one benchmark (data set) under one protocol."""

    name: str  # the sweep's folder name
    protocol: str  # "short", "medium" or "full"
    records: list[RunRecord]
    planned: int = 0  # jobs of the sweep, finished or not

    @property
    def data(self) -> str:
        return self.records[0].data


def mean_se(values: list[float]) -> str:
    """`mean ± s.e.` of values over seeds, or the single value with one seed."""
    a = np.asarray(values, dtype=float)
    if len(a) < 2:
        return sig(a.mean()) if len(a) else "n/a"
    return f"{sig(a.mean())} ± {sig(a.std(ddof=1) / math.sqrt(len(a)), 2)}"


def benchmarks(sweeps_root: Path) -> list[Benchmark]:
    """The finished runs grouped by benchmark (data set)."""
    found = []
    for folder in sorted(p for p in sweeps_root.iterdir() if p.is_dir() and p.name.startswith("results_")):
        every = find_runs([folder])
        done = finished(every)
        if done:
            protocol = next((p for p in ("short", "medium") if folder.name.endswith(f"_{p}")), "full")
            found.append(Benchmark(folder.name, protocol, done, len(every)))
    return found


def drop_shared_settings(rows: list[Row]) -> str:
    """When every MMA-GAN configuration of a benchmark has the same K, lambda and tau, the sentence
    that states them once; they are then left out of the labels, which read as the variants alone."""
    mma = [r for r in rows if r.studied]
    settings = {r.settings for r in mma}
    if len(settings) != 1:
        return ""
    for r in mma:
        r.settings_in_label = False
    return f"MMA-GAN's settings in every row: {settings.pop()}."


def method_table(bench: Benchmark) -> tuple[str, list[Row], str]:
    """One row per method: each metric's mean ± standard error over seeds and the seed count; and
    the sentence that states MMA-GAN's settings where every row shares them."""
    columns = metric_columns(bench.data)
    rows = build_rows(bench.records, [m for m, _ in columns])
    settings = drop_shared_settings(rows)
    rows.sort(key=lambda r: (not r.studied, r.variant, r.label))
    lines = [[r.label, str(r.seeds), *(mean_se(r.values(m)) for m, _ in columns)] for r in rows]
    for entry in published(bench.data, bench.protocol):
        position = {metric: i for i, metric in enumerate(entry["metrics"])}
        for name, values in entry["rows"].items():
            figures = [f"{values[position[m]]:g}" if m in position else "" for m, _ in columns]
            lines.append([f"{name} (published: {entry['source']})", str(entry.get("trials", "")), *figures])
    header = ["method", "seeds", *(title for _, title in columns)]
    return markdown_table(header, lines), rows, settings


def reading(rows: list[Row], data: str) -> str:
    """What the table says, in one sentence per metric: each method's rank by its mean, and MMA-GAN
    against the best baseline with two seeds or more, with the 95 % interval of the difference over
    seeds (Welch)."""
    sentences = []
    for metric, title in metric_columns(data):
        found = metric_reading(rows, metric)
        order = ", ".join(f"{label} {sig(mean)}" for label, mean in found.ranking)
        sentence = f"**{title}** ({'lower' if lower_is_better(metric) else 'higher'} is better): {order}."
        c = found.studied_vs_best
        if c is not None:
            name = f"{c.b} (tied with {', '.join(found.tied_with)})" if found.tied_with else c.b
            d = c.difference
            if not c.outcome:
                interval = "no interval: it needs two seeds of each"
            elif c.outcome == "no difference":
                interval = "the same value in every run of both: no difference"
            else:
                shown = c.outcome != "no difference shown"
                said = f"MMA-GAN is {c.outcome}" if shown else "the interval includes 0: no difference shown"
                interval = f"95 % interval {sig(d.low, signed=True)} to {sig(d.high, signed=True)}; {said}"
            sentence += f" MMA-GAN minus {name}: {sig(d.diff, signed=True)} ({interval})."
            if found.ahead_on_one_seed:
                names = ", ".join(found.ahead_on_one_seed)
                sentence += f" {names} ranked higher on a single seed, too few for an interval."
        sentences.append(sentence)
    return "\n".join(f"- {s}" for s in sentences)


def variants_table(rows: list[Row], data: str) -> str:
    """Whether heads made to specialise help: each variant of MMA-GAN's heads against the paper's
    heads and against the best baseline with two seeds or more, per metric, with 95 % intervals."""
    found = variant_findings(rows, [m for m, _ in metric_columns(data)])
    if not found:
        return ""

    def cell(c: Comparison) -> str:
        d = c.difference
        if c.outcome in ("", "no difference"):
            return f"{sig(d.diff, signed=True)} ({c.outcome or 'no interval'})"
        text = f"{sig(d.diff, signed=True)} ({sig(d.low, signed=True)} to {sig(d.high, signed=True)})"
        return text if c.outcome == "no difference shown" else f"**{text}: {c.outcome}**"

    def against(c: Comparison | None) -> str:
        return f"{c.b}: {cell(c)}" if c is not None else "n/a"

    titles = dict(metric_columns(data))
    lines = [[titles[f.metric], f.variant, cell(f.vs_paper), against(f.vs_best)] for f in found]
    paper = found[0].vs_paper.b
    header = ["metric", "head variant", f"minus {paper} (the paper's heads)", "minus the best baseline"]
    return (
        "Do heads made to specialise help? Each head variant minus the paper's heads and minus the best "
        "baseline with two seeds or more: the difference of means and its 95 % interval over seeds "
        "(Welch); in bold where the interval excludes 0.\n\n" + markdown_table(header, lines)
    )


def spans(points: list[int], chosen: set[int]) -> str:
    """The chosen validation points as runs of successive ones: "1,000-7,000; 12,000"."""
    runs: list[list[int]] = []
    for i, p in enumerate(points):
        if p in chosen:
            if runs and i > 0 and points[i - 1] == runs[-1][-1]:
                runs[-1].append(p)
            else:
                runs.append([p])
    return "; ".join(f"{r[0]:,}" if len(r) == 1 else f"{r[0]:,}-{r[-1]:,}" for r in runs)


def along_budget(rows: list[Row], curves: dict[str, list[Curve]], data: str) -> str:
    """Where along the budget MMA-GAN and each head variant differ from the best baseline at the
    final budget: the validation points at which the 95 % interval excludes 0, either way."""
    titles = dict(metric_columns(data))
    lines = [
        [
            f"{titles[f.metric]}, minus {f.baseline}",
            f.method,
            spans(f.points, set(f.better)) or "nowhere",
            spans(f.points, set(f.worse)) or "nowhere",
        ]
        for f in budget_differences(rows, curves, list(titles))
    ]
    if not lines:
        return ""
    return (
        "Along the budget: MMA-GAN and its head variants minus the best baseline at the final budget, "
        "at each validation point where the 95 % interval of the difference (Welch, over the seeds "
        "at that point) excludes 0. Each point's interval holds for that point alone; successive "
        "points come from the same runs, so one isolated point says little.\n\n"
        + markdown_table(["metric", "method", "better at (iterations)", "worse at (iterations)"], lines)
    )


def write_runs_csv(benches: list[Benchmark], path: Path) -> None:
    """Every finished run of the study with its final metrics, one row each."""
    fields = [
        "benchmark",
        "protocol",
        "data",
        "method",
        "K",
        "lambda",
        "tau",
        "packing",
        "variant",
        "seed",
        "iterations",
        "modes",
        "high_quality_pct",
        "reverse_kl",
        "kl",
        "modes_draw_std",
        "high_quality_pct_draw_std",
        "reverse_kl_draw_std",
        "folder",
    ]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for b in benches:
            for r in sorted(
                b.records, key=lambda r: (r.method, r.K or 0, r.lam or 0, r.tau or 0, r.seed or 0)
            ):
                m, raw = r.metrics, read_metrics(r.folder)
                w.writerow(
                    [
                        b.name,
                        b.protocol,
                        r.data,
                        r.method,
                        r.K,
                        r.lam,
                        r.tau,
                        r.packing,
                        r.variant,
                        r.seed,
                        r.iterations,
                        m.get("modes/modes"),
                        m.get("modes/high_quality_pct"),
                        m.get("modes/reverse_kl"),
                        m.get("modes/kl"),
                        *(
                            raw.get(f"modes/{k}_draw_std")
                            for k in ("modes", "high_quality_pct", "reverse_kl")
                        ),
                        r.folder.name,
                    ]
                )


def noise_table(bench: Benchmark, rows: list[Row]) -> str:
    """The evaluation's own noise beside the seeds': per metric, the standard deviation between
    independent evaluation draws of one trained G (mean over runs of `<metric>_draw_std`) and
    between seeds of one method (pooled over methods)."""
    lines = []
    for metric, title in metric_columns(bench.data):
        draw = [read_metrics(r.folder).get(f"{metric}_draw_std") for r in bench.records]
        draw = [d for d in draw if d is not None]
        variances = [np.var(r.values(metric), ddof=1) for r in rows if len(r.values(metric)) > 1]
        seed_sd = sig(math.sqrt(np.mean(variances))) if variances else "n/a (one seed)"
        lines.append([title, sig(np.mean(draw)) if draw else "n/a (one draw)", seed_sd])
    return markdown_table(["metric", "between evaluation draws (sd)", "between seeds (sd, pooled)"], lines)


def budget_reading(bench: Benchmark, rows: list[Row], curves: dict[str, list[Curve]]) -> list[str]:
    """Where the best baseline settled, and whether the methods' order moved along the budget."""
    columns = metric_columns(bench.data)
    found = settling(rows, curves, [m for m, _ in columns])
    lines = []
    who = "The best baseline at the final budget"
    if found is not None and found.chosen_for_seeds:
        who = "The best baseline with two seeds or more at the final budget"
    if found is not None and not found.judged:
        lines.append(
            f"- Whether the best baseline, {found.baseline}, has flattened cannot be judged yet: with one "
            "seed there is no standard error to compare successive validations with."
        )
    elif found is not None:
        first, stays, budget = found.settled_at, found.flat_from, found.budget
        rule = "two successive validations within one standard error"
        if any(p is None for p in first.values()):
            unsettled = [title for m, title in columns if first[m] is None]
            settled = [f"{title} at {first[m]:,}" for m, title in columns if first[m] is not None]
            lines.append(
                f"- {who}, {found.baseline}, had not flattened on {', '.join(unsettled)} by {budget:,} "
                f"iterations (no {rule})"
                + (f"; it met the rule on {', '.join(settled)}" if settled else "")
                + ": the ranking may still change with a longer budget."
            )
        else:
            moving = [title for m, title in columns if stays[m] is None]
            lines.append(
                f"- {who}, {found.baseline}, met the stopping rule ({rule}) "
                f"on every metric by {max(first.values()):,} iterations; "
                + (
                    f"it stayed within that rule from {max(stays.values()):,} iterations to the budget "
                    f"of {budget:,}."
                    if not moving
                    else f"it did not stay flat: its last step on {', '.join(moving)} was larger than "
                    f"one standard error, so its figures at {budget:,} still move."
                )
            )
    for metric, title in columns:
        lines.append(f"- **{title}** over the budget: {ranking_changes(curves[metric], metric)}.")
    return lines


def optimizers(rows: list[Row]) -> str:
    """What each method trained with, read from its runs' configs: one line when all agree, so that
    a baseline trained off its own recipe (WGAN-GP with a protocol's Adam betas) is visible."""
    by_method = {r.label: sorted({run.optimizer for run in r.runs if run.optimizer}) for r in rows}
    used = {o for opts in by_method.values() for o in opts}
    if not used:
        return "Optimizer: not recorded in the runs' configs."
    if len(used) == 1:
        return f"Optimizer, from the runs' configs: {used.pop()} for every method."
    return (
        "Optimizers, from the runs' configs: "
        + "; ".join(f"{label}: {' / '.join(opts) or 'not recorded'}" for label, opts in by_method.items())
        + "."
    )


def benchmark_section(bench: Benchmark, assets: Path) -> list[str]:
    """The Markdown section of one benchmark: the table, the curves, the reading."""
    table, rows, settings = method_table(bench)
    iters = sorted({r.iterations for r in bench.records})
    seeds = ", ".join(f"{r.label} {r.seeds}" for r in rows)
    md = [
        "",
        f"## {bench.data}, {bench.protocol} protocol (`{bench.name}`)",
        "",
        f"{len(bench.records)} finished runs of {max(bench.planned, len(bench.records))} planned "
        f"(seeds: {seeds}). The table is at the final budget: "
        f"{', '.join(f'{i:,}' for i in iters)} generator iterations.",
        "",
        " ".join(s for s in (settings, optimizers(rows)) if s),
        "",
        table,
        "",
        reading(rows, bench.data),
    ]
    variants = variants_table(rows, bench.data)
    if variants:
        md += ["", variants]
    figure, curves = curves_figure(rows, metric_columns(bench.data), f"{bench.data}, {bench.protocol}")
    if any(len(c.iterations) > 1 for cs in curves.values() for c in cs):
        path = save_figure(figure, assets / f"curves_{bench.name}.png", dpi=80, tight=False)
        md += ["", f"![curves_{bench.name}](results/{path.name})", "", *budget_reading(bench, rows, curves)]
        along = along_budget(rows, curves, bench.data)
        if along:
            md += ["", along]
    if any(
        f"{m}_draw_std" in read_metrics(r.folder)
        for r in bench.records
        for m, _ in metric_columns(bench.data)
    ):
        md += [
            "",
            "The evaluation's own noise (G in eval mode, batch norm with its running statistics; "
            "each run's figure is the mean over its draws):",
            "",
            noise_table(bench, rows),
        ]
    return md


def hyperparameter_section(bench: Benchmark, sweeps_root: Path, assets: Path) -> list[str]:
    """MMA-GAN's K x lambda x tau grid, K axis and lambda axis at a benchmark's data and budget,
    each setting against the benchmark's best baseline (medium and full protocols only: the short
    one has not settled)."""
    if bench.protocol == "short" or bench.data not in MIXTURES:
        return []
    columns = metric_columns(bench.data)
    rows = build_rows(bench.records, [m for m, _ in columns])
    baselines = {m: best_baseline(ranked_by(rows, m)) for m, _ in columns}
    iterations = max(r.iterations or 0 for r in bench.records)
    modes = len(MIXTURES[bench.data]().modes)
    return sensitivity_section(
        sweeps_root,
        bench.data,
        iterations,
        modes,
        {m: b for m, b in baselines.items() if b is not None},
        columns,
        assets,
        bench.name.replace("results_", ""),
    )


def diagnostics_section(benches: list[Benchmark], assets: Path) -> list[str]:
    """Per benchmark and MMA-GAN variant, seed 0's head activations over training and head map."""
    md = ["", "## Diagnostics of one run per benchmark and head variant (MMA-GAN, seed 0)", ""]
    for b in benches:
        if b.data not in MIXTURES:
            continue
        reps = sorted((r for r in b.records if r.studied and r.seed == 0), key=lambda r: r.variant)
        for rep in reps:
            tag = f"{b.name}_{rep.variant.replace('+', '_')}" if rep.variant else b.name
            curves = head_activation_plot(rep, assets / f"heads_{tag}.png")
            hmap = head_map_plot(rep, assets / f"headmap_{tag}.png")
            md += [f"### {b.name}, heads: {rep.variant or 'paper'}", ""]
            md += [f"![{p.stem}](results/{p.name})" for p in (curves, hmap) if p] + [""]
    return md


def write_results(sweeps_root: Path, out_dir: Path, command: str) -> Path:
    """The results page (results.md) with its figures and runs CSV in `out`."""
    benches = benchmarks(sweeps_root)
    if not benches:
        raise FileNotFoundError(f"no finished runs in results_* sweep folders under {sweeps_root}")
    assets = out_dir / "results"
    assets.mkdir(parents=True, exist_ok=True)
    md = [
        "# Results",
        "",
        f"Written by `{command}` from the run folders; regenerate rather than edit.",
        "",
        "Every figure is the mean ± standard error over seeds; each 95 % interval of a difference holds",
        "for that one comparison alone, not jointly over the metrics and benchmarks: where there is no",
        "difference, one interval in twenty still excludes 0. Within a benchmark every method has the",
        "same data, the same generator, the same number of generator iterations and the same evaluation",
        "samples; a *short* or *medium* protocol keeps the published protocol's data, nets and optimizer",
        "but trains for fewer iterations, so its numbers are not comparable with published ones and none",
        "are shown beside them. MMA-GAN's head variants (`mmagan[...]`) are described in",
        "`conf/model/mmagan.yaml`. Raw per-run figures: [results/runs.csv](results/runs.csv).",
    ]
    for b in benches:
        md += benchmark_section(b, assets)
    for b in benches:
        md += hyperparameter_section(b, sweeps_root, assets)
    # The short exploratory sweeps: one seed per setting, no comparison.
    sensitivity = [p for p in sorted(sweeps_root.glob("sensitivity_*_short")) if p.is_dir()]
    for folder in sensitivity:
        done = finished(find_runs([folder]))
        if not done:
            continue
        rows = build_rows(done, ["modes/modes", "modes/reverse_kl"])
        figures = heatmaps(rows, ["modes/reverse_kl", "modes/modes"], assets)
        md += [
            "",
            f"## Sensitivity to K, lambda and tau (`{folder.name}`)",
            "",
            f"{len(done)} runs, one seed per configuration, {done[0].iterations} iterations.",
            "",
        ]
        md += [f"![{f.stem}](results/{f.name})" for f in figures]
    md += diagnostics_section(benches, assets)
    table, finding = specialisation_table(benches)
    if table:
        md += [
            "## Do the heads specialise on modes?",
            "",
            "The method's premise is that D's K heads come to stand for different modes. For each",
            "MMA-GAN run, real samples of each true mode are shown to the final D. A head is *live* when",
            f"its mean activation on some mode exceeds {0.1:g}; *modes per head* is exp of the entropy of",
            "a live head's activation profile over the true modes (1: it fires on one mode). The head",
            "with the highest mean activation on a mode 'wins' it: specialised heads win different",
            "modes, interchangeable ones win K(1 - (1 - 1/K)^modes) distinct modes by chance ('by",
            "chance'). 'Head correlation' is `train/head_correlation` at the run's last log step (mean",
            "Pearson correlation between heads over a batch of fakes).",
            "",
            table,
            "",
            finding,
            "",
            f"Reproduce: `{command}` (after the sweeps in `sweeps/results_*.yaml`).",
        ]
    write_runs_csv(benches, assets / "runs.csv")
    path = out_dir / "results.md"
    path.write_text("\n".join(md) + "\n")
    return path
