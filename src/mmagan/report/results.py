"""docs/results.md from the study's sweep folders: per benchmark the methods' mean ± standard error
over seeds, the published numbers of the same protocol, the sensitivity heatmaps, the diagnostics of
one representative MMA-GAN run, and whether D's heads specialise on the true modes.

    mmagan-report --results outputs/sweeps --out docs
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from mmagan.data.toy import MIXTURES, GaussianMixture
from mmagan.report.plots import heatmaps
from mmagan.report.stats import lower_is_better, welch_difference
from mmagan.report.tables import Row, build_rows, markdown_table
from mmagan.runs.checkpoints import load_discriminator, load_generator
from mmagan.runs.listing import RunRecord, find_runs, finished, learning_curve
from mmagan.runs.sweep_jobs import read_metrics

# protocols.md. Keyed by (data, protocol): a published number is shown only beside runs of the
# protocol it was measured under.
PUBLISHED = {
    ("ring", "full"): {
        "source": "PacGAN Table 1 (400 epochs, 10 trials)",
        "rows": {"gan": (6.3, 98.2, 0.45), "pacgan2": (7.9, 95.6, 0.07), "pacgan4": (7.8, 95.9, 0.07)},
    },
    ("grid", "full"): {
        "source": "PacGAN Table 1 (400 epochs, 10 trials)",
        "rows": {"gan": (17.3, 94.8, 0.70), "pacgan2": (23.8, 91.3, 0.13), "pacgan4": (24.8, 93.6, 0.04)},
    },
}
MIXTURE_METRICS = [
    ("modes/modes", "modes"),
    ("modes/high_quality_pct", "% high quality"),
    ("modes/reverse_kl", "reverse KL"),
]
STACKED_METRICS = [("modes/modes", "modes (of 1000)"), ("modes/kl", "KL to uniform")]


@dataclass
class Benchmark:
    name: str  # the sweep's folder name
    protocol: str  # "short" or "full"
    records: list[RunRecord]

    @property
    def data(self) -> str:
        return self.records[0].data


def mean_se(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    if len(a) < 2:
        return f"{a.mean():.3g}" if len(a) else "n/a"
    return f"{a.mean():.3g} ± {a.std(ddof=1) / math.sqrt(len(a)):.2g}"


def benchmarks(sweeps_root: Path) -> list[Benchmark]:
    found = []
    for folder in sorted(p for p in sweeps_root.iterdir() if p.is_dir() and p.name.startswith("results_")):
        done = finished(find_runs([folder]))
        if done:
            protocol = "short" if folder.name.endswith("_short") else "full"
            found.append(Benchmark(folder.name, protocol, done))
    return found


def metric_columns(data: str) -> list[tuple[str, str]]:
    return MIXTURE_METRICS if data in MIXTURES else STACKED_METRICS


def method_table(bench: Benchmark) -> tuple[str, list[Row]]:
    columns = metric_columns(bench.data)
    rows = build_rows(bench.records, [m for m, _ in columns])
    rows.sort(key=lambda r: (r.method != "mmagan", r.label))
    lines = [[r.label, str(r.seeds), *(mean_se(r.values(m)) for m, _ in columns)] for r in rows]
    published = PUBLISHED.get((bench.data, bench.protocol))
    if published:
        for name, values in published["rows"].items():
            lines.append([f"{name} (published: {published['source']})", "10", *(f"{v:g}" for v in values)])
    header = ["method", "seeds", *(title for _, title in columns)]
    return markdown_table(header, lines), rows


def reading(rows: list[Row], data: str) -> str:
    """What the table says, in one sentence per metric: each method's rank by its mean, and MMA-GAN
    against the best other method with the 95 % interval of the difference over seeds (Welch)."""
    sentences = []
    for metric, title in metric_columns(data):
        with_values = [r for r in rows if r.values(metric)]
        lower = lower_is_better(metric)
        ranked = sorted(with_values, key=lambda r: np.mean(r.values(metric)) * (1 if lower else -1))
        order = ", ".join(f"{r.label} {np.mean(r.values(metric)):.3g}" for r in ranked)
        sentence = f"**{title}** ({'lower' if lower else 'higher'} is better): {order}."
        mma = next((r for r in ranked if r.method == "mmagan"), None)
        others = [r for r in ranked if r.method != "mmagan"]
        if mma is not None and others:
            best = others[0]
            d = welch_difference(mma.values(metric), best.values(metric))
            verdict = (
                "the interval includes 0: no difference shown"
                if math.isnan(d.low) or d.low <= 0 <= d.high
                else ("MMA-GAN is better" if (d.diff < 0) == lower else "MMA-GAN is worse")
            )
            interval = f"95 % interval {d.low:+.3g} to {d.high:+.3g}"
            sentence += f" MMA-GAN minus {best.label}: {d.diff:+.3g} ({interval}; {verdict})."
        sentences.append(sentence)
    return "\n".join(f"- {s}" for s in sentences)


def write_runs_csv(benches: list[Benchmark], path: Path) -> None:
    fields = [
        "benchmark",
        "protocol",
        "data",
        "method",
        "K",
        "lambda",
        "tau",
        "packing",
        "seed",
        "iterations",
        "modes",
        "high_quality_pct",
        "reverse_kl",
        "kl",
        "folder",
    ]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for b in benches:
            for r in sorted(
                b.records, key=lambda r: (r.method, r.K or 0, r.lam or 0, r.tau or 0, r.seed or 0)
            ):
                m = r.metrics
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
                        r.seed,
                        r.iterations,
                        m.get("modes/modes"),
                        m.get("modes/high_quality_pct"),
                        m.get("modes/reverse_kl"),
                        m.get("modes/kl"),
                        r.folder.name,
                    ]
                )


def head_activation_plot(record: RunRecord, path: Path) -> Path | None:
    """A_k on fakes per head over iterations, from the run's CSV log."""
    curves = {}
    for k in range(record.K or 0):
        curve = learning_curve(record.folder, f"train/heads/A_fake_{k}")
        if curve:
            curves[k] = curve
    if not curves:
        return None
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    for k, curve in curves.items():
        x, y = zip(*curve)
        ax.plot(x, y, lw=1, label=f"head {k}")
    if record.tau is not None:
        ax.axhline(record.tau, color="black", ls="--", lw=1, label="tau")
    ax.set_xlabel("iteration")
    ax.set_ylabel("A_k on fakes")
    ax.set_title(f"{record.data}: mean activation of each head on fakes")
    ax.legend(fontsize=6, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


def mixture_of(record: RunRecord) -> GaussianMixture:
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(record.folder / ".hydra" / "config.yaml")
    return MIXTURES[record.data](**cfg.data.mixture)


@torch.no_grad()
def heads_over_modes(record: RunRecord, points_per_mode: int = 200) -> np.ndarray:
    """(modes, K): D's mean sigmoid activation of each head on real samples of each true mode."""
    d, _ = load_discriminator(record.folder / "checkpoints" / "last.ckpt")
    mixture = mixture_of(record)
    g = torch.Generator().manual_seed(0)
    acts = []
    for mode in mixture.modes:
        x = mode + mixture.std * torch.randn(points_per_mode, 2, generator=g)
        acts.append(torch.sigmoid(d(x)).mean(0))
    return torch.stack(acts).numpy()


@torch.no_grad()
def head_map_plot(record: RunRecord, path: Path) -> Path:
    """The plane coloured by the head with the highest activation, true modes and samples on top."""
    d, _ = load_discriminator(record.folder / "checkpoints" / "last.ckpt")
    mixture = mixture_of(record)
    span = float(mixture.modes.abs().max()) * 1.4 + 0.3
    axis = torch.linspace(-span, span, 300)
    grid = torch.cartesian_prod(axis, axis)
    winner = d(grid).argmax(1).reshape(300, 300).T.numpy()
    samples = load_generator(record.folder / "checkpoints" / "last.ckpt").sample(1000, seed=0).numpy()
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.subplots()
    ax.imshow(
        winner,
        origin="lower",
        extent=(-span, span, -span, span),
        cmap="tab20",
        interpolation="nearest",
        vmin=0,
        vmax=19,
    )
    ax.scatter(samples[:, 0], samples[:, 1], s=1, c="black", alpha=0.4, label="generated")
    m = mixture.modes.numpy()
    ax.scatter(m[:, 0], m[:, 1], marker="x", c="red", s=40, label="true modes")
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_title(f"{record.data}: the head that fires most (K={record.K})", fontsize=9)
    ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


def specialisation_table(benches: list[Benchmark]) -> tuple[str, str]:
    """Do the heads specialise on modes? Per run: how many distinct heads win the true modes (a
    head 'wins' a mode when it has the highest mean activation on that mode's real samples), how
    many interchangeable heads would win by chance, how much the winner stands out (its activation
    minus the mean of the others) and the heads' correlation over fakes at the last log step."""
    lines, stats = [], []
    for b in benches:
        if b.data not in MIXTURES:
            continue
        for r in sorted((r for r in b.records if r.method == "mmagan"), key=lambda r: r.seed or 0):
            acts = heads_over_modes(r)
            modes, k = acts.shape
            winners = len(set(acts.argmax(1).tolist()))
            chance = k * (1 - (1 - 1 / k) ** modes)  # distinct winners if each mode picked a head at random
            margin = float(np.mean(acts.max(1) - (acts.sum(1) - acts.max(1)) / max(1, k - 1)))
            corr = read_metrics(r.folder).get("train/head_correlation")
            stats.append((winners, chance, margin, corr if corr is not None else float("nan")))
            lines.append(
                [
                    b.name,
                    str(r.seed),
                    f"{winners} of {min(modes, k)}",
                    f"{chance:.2f}",
                    f"{margin:.3f}",
                    "n/a" if corr is None else f"{corr:.3f}",
                    f"{r.metrics.get('modes/modes', float('nan')):g}",
                ]
            )
    header = [
        "benchmark",
        "seed",
        "distinct heads winning the modes",
        "by chance",
        "winner's margin",
        "head correlation",
        "modes captured",
    ]
    if not lines:
        return "", ""
    winners, chance, margin, corr = (float(np.nanmean(column)) for column in zip(*stats))
    specialised = winners >= chance + 1 and margin >= 0.1
    finding = (
        f"Over these {len(stats)} runs the heads win {winners:.1f} distinct modes on average, against "
        f"{chance:.1f} for interchangeable heads picked at random, by a margin of {margin:.3f} in "
        f"activation, and correlate at {corr:.2f} over fakes: "
        + (
            "the heads specialise on modes, as the method assumes."
            if specialised
            else "no sign that the heads specialise on modes; they respond almost alike, so the hinge "
            "on each head's mean activation acts like one hinge on D's average output."
        )
    )
    return markdown_table(header, lines), finding


def write_results(sweeps_root: Path, out_dir: Path, command: str) -> Path:
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
        "Every figure is the mean ± standard error over seeds. Within a benchmark every method has the",
        "same data, the same generator, the same number of generator iterations and the same evaluation",
        "samples; a *short* protocol keeps the published protocol's data, nets and optimizer but trains",
        "for fewer iterations, so its numbers are not comparable with published ones and none are shown",
        "beside them. Raw per-run figures: [results/runs.csv](results/runs.csv).",
    ]
    for b in benches:
        table, rows = method_table(b)
        iters = sorted({r.iterations for r in b.records})
        md += [
            "",
            f"## {b.data}, {b.protocol} protocol (`{b.name}`)",
            "",
            f"{len(b.records)} finished runs; generator iterations: {', '.join(map(str, iters))}.",
            "",
            table,
            "",
            reading(rows, b.data),
        ]
    sensitivity = [p for p in sorted(sweeps_root.glob("sensitivity_*")) if p.is_dir()]
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
    md += ["", "## Diagnostics of one run per benchmark (MMA-GAN, seed 0)", ""]
    for b in benches:
        rep = next((r for r in b.records if r.method == "mmagan" and r.seed == 0), None)
        if rep is None or b.data not in MIXTURES:
            continue
        curves = head_activation_plot(rep, assets / f"heads_{b.name}.png")
        hmap = head_map_plot(rep, assets / f"headmap_{b.name}.png")
        md += [f"### {b.name}", ""] + [f"![{p.stem}](results/{p.name})" for p in (curves, hmap) if p]
        md += [""]
    table, finding = specialisation_table(benches)
    if table:
        md += [
            "## Do the heads specialise on modes?",
            "",
            "The method's premise is that D's K heads come to stand for different modes. For each",
            "MMA-GAN run, real samples of each true mode are shown to the final D; the head with the",
            "highest mean activation on a mode 'wins' it. Specialised heads would win different modes",
            "by a clear margin; heads that are interchangeable win K(1 - (1 - 1/K)^modes) distinct",
            "modes by chance ('by chance'). 'Head correlation' is `train/head_correlation` at the",
            "run's last log step (mean Pearson correlation between heads over a batch of fakes).",
            "",
            table,
            "",
            finding,
            "",
            f"Reproduce: `{command}` (after the sweeps in `sweeps/results_*_short.yaml`).",
        ]
    write_runs_csv(benches, assets / "runs.csv")
    path = out_dir / "results.md"
    path.write_text("\n".join(md) + "\n")
    return path
