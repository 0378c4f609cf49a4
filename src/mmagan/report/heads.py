"""Do D's heads specialise on the true modes? Per MMA-GAN run with known modes: each head's mean
activation on real samples of each mode (from the final D), the measures read from it, and the
plane coloured by the winning head.

The matrix and the map are cached in the run folder (heads.json, plots/headmap.png), so a study's
folders still report once their checkpoints are gone.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from mmagan.data.toy import MIXTURES, GaussianMixture
from mmagan.plots import save_figure
from mmagan.report.tables import markdown_table
from mmagan.runs.checkpoints import load_discriminator, load_generator, read_checkpoint
from mmagan.runs.files import read_json, write_json
from mmagan.runs.listing import RunRecord, learning_curve
from mmagan.runs.run_folder import RunFolder
from mmagan.runs.sweep_jobs import read_metrics

# A head is live when its mean activation on some mode's real samples exceeds this.
LIVE = 0.1


def last_checkpoint(record: RunRecord) -> Path:
    """The run's last.ckpt (present or not)."""
    return RunFolder(record.folder).last_checkpoint


def mixture_of(ckpt: Path) -> GaussianMixture:
    """The run's mixture, from the checkpoint's own config."""
    data = read_checkpoint(ckpt)["mmagan"]["config"]["data"]
    return MIXTURES[data["name"]](**data["mixture"])


@torch.no_grad()
def heads_over_modes(record: RunRecord, points_per_mode: int = 200) -> np.ndarray | None:
    """(modes, K): D's mean sigmoid activation of each head on real samples of each true mode;
    None where neither the cache nor the final checkpoint is there."""
    cache = RunFolder(record.folder).heads
    if cache.is_file():
        return np.asarray(read_json(cache)["heads_over_modes"])
    if not last_checkpoint(record).is_file():
        return None
    d, _ = load_discriminator(last_checkpoint(record))
    mixture = mixture_of(last_checkpoint(record))
    g = torch.Generator().manual_seed(0)
    acts = []
    for mode in mixture.modes:
        x = mode + mixture.std * torch.randn(points_per_mode, 2, generator=g)
        acts.append(torch.sigmoid(d(x)).mean(0))
    matrix = torch.stack(acts).numpy()
    write_json(cache, {"heads_over_modes": matrix.tolist(), "points_per_mode": points_per_mode})
    return matrix


def live_heads(acts: np.ndarray) -> np.ndarray:
    """Which heads fire (mean activation above LIVE) on some mode's real samples."""
    return acts.max(0) > LIVE


def modes_per_head(acts: np.ndarray) -> float:
    """exp of the entropy of each live head's activation profile over the modes, averaged over the
    live heads: 1 when each head fires on one mode, the number of modes when it fires on all alike."""
    live = acts[:, live_heads(acts)]
    if live.shape[1] == 0:
        return float("nan")
    p = live / live.sum(0, keepdims=True)
    entropy = -(p * np.log(np.clip(p, 1e-12, None))).sum(0)
    return float(np.exp(entropy).mean())


def chance_winners(modes: int, k: int) -> float:
    """Distinct heads that win the modes when each mode picks one of K interchangeable heads."""
    return k * (1 - (1 - 1 / k) ** modes)


def head_activation_plot(record: RunRecord, path: Path) -> Path | None:
    """A_k on fakes per head over iterations, from the run's CSV log (None without a log of them)."""
    fig = head_activation_figure(record)
    if fig is None:
        return None
    return save_figure(fig, path, dpi=80)


def head_activation_figure(record: RunRecord) -> Figure | None:
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
    if record.tau is not None and "relative" not in (record.variant or ""):
        # The relative hinge's target is tau times each head's running mean on reals, not tau.
        ax.axhline(record.tau, color="black", ls="--", lw=1, label="tau")
    ax.set_xlabel("iteration")
    ax.set_ylabel("A_k on fakes")
    variant = f" {record.variant}" if record.variant else ""
    ax.set_title(f"{record.data}{variant}: mean activation of each head on fakes", fontsize=9)
    ax.legend(fontsize=6, ncol=4)
    return fig


@torch.no_grad()
def head_map_plot(record: RunRecord, path: Path) -> Path | None:
    """The plane coloured by the head with the highest activation, true modes and samples on top
    (drawn once into the run folder, copied to `path`)."""
    cached = RunFolder(record.folder).head_map
    if not cached.is_file():
        if not last_checkpoint(record).is_file():
            return None
        d, _ = load_discriminator(last_checkpoint(record))
        mixture = mixture_of(last_checkpoint(record))
        span = float(mixture.modes.abs().max()) * 1.4 + 0.3
        axis = torch.linspace(-span, span, 300)
        grid = torch.cartesian_prod(axis, axis)
        winner = d(grid).argmax(1).reshape(300, 300).T.numpy()
        samples = load_generator(last_checkpoint(record)).sample(1000, seed=0).numpy()
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
        variant = f" {record.variant}" if record.variant else ""
        ax.set_title(f"{record.data}{variant}: the head that fires most (K={record.K})", fontsize=9)
        ax.legend(fontsize=6, loc="upper right")
        save_figure(fig, cached, dpi=80)
    shutil.copyfile(cached, path)
    return path


def specialisation_table(benches) -> tuple[str, str]:
    """Per MMA-GAN run (every variant): live heads, modes per head, how many distinct heads win the
    true modes (a head 'wins' a mode when it has the highest mean activation on that mode's real
    samples) against chance, and the heads' correlation over fakes at the last log step."""
    lines, stats = [], {}
    for b in benches:
        if b.data not in MIXTURES:
            continue
        runs = sorted((r for r in b.records if r.studied), key=lambda r: (r.variant, r.seed or 0))
        for r in runs:
            acts = heads_over_modes(r)
            if acts is None:
                continue
            modes, k = acts.shape
            winners = len(set(acts.argmax(1).tolist()))
            corr = read_metrics(r.folder).get("train/head_correlation")
            per_head = modes_per_head(acts)
            name = r.variant or "paper"
            stats.setdefault((b.name, name, modes, k), []).append(
                (int(live_heads(acts).sum()), per_head, winners, chance_winners(modes, k), corr or math.nan)
            )
            lines.append(
                [
                    b.name,
                    name,
                    str(r.seed),
                    f"{int(live_heads(acts).sum())} of {k}",
                    f"{per_head:.2f} of {modes}",
                    f"{winners} of {min(modes, k)}",
                    f"{chance_winners(modes, k):.2f}",
                    "n/a" if corr is None else f"{corr:.3f}",
                    f"{r.metrics.get('modes/modes', float('nan')):g}",
                ]
            )
    if not lines:
        return "", ""
    header = [
        "benchmark",
        "heads",
        "seed",
        "live heads",
        "modes per head",
        "distinct heads winning the modes",
        "by chance",
        "head correlation",
        "modes captured",
    ]
    findings = []
    for (bench, name, modes, k), rows in stats.items():
        live, per_head, winners, chance, corr = (float(np.nanmean(c)) for c in zip(*rows))
        runs = f"{len(rows)} run{'s' if len(rows) > 1 else ''}"
        findings.append(
            f"- **{bench}, {name}, K={k}** ({runs}): {live:.1f} live heads, "
            f"each firing on {per_head:.1f} of {modes} modes; {winners:.1f} distinct heads win the modes "
            f"against {chance:.1f} by chance; correlation over fakes {corr:.2f}: "
            + specialisation_reading(modes, k, per_head)
        )
    return markdown_table(header, lines), "\n".join(findings)


def specialisation_reading(modes: int, k: int, per_head: float) -> str:
    """What modes per head says, against the two ends: every head firing on every mode alike, and
    the modes shared out among the K heads (one mode per head, or modes/K when there are more modes
    than heads). Judged per benchmark, since the count means nothing without the number of modes."""
    shared_out = max(1.0, modes / k)
    if per_head <= 2 * shared_out:
        return "the heads specialise on modes."
    if per_head >= 0.75 * modes:
        return (
            "no sign that the heads specialise on modes; they respond almost alike, so the hinge on each "
            "head's mean activation acts like one hinge on D's average output."
        )
    return f"the heads specialise in part (shared out evenly each would fire on {shared_out:.1f})."
