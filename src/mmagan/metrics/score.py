"""The one scoring path: the validation callbacks (on the validation samples of a training run)
and `mmagan-eval` (on a checkpoint's samples) both call `score`, so a figure means the same in
both places, computed the same way from the same kind of input."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor, nn

from mmagan.metrics.fidelity import FIDELITY_METRICS, FidelitySettings, fidelity_metrics, images_fingerprint
from mmagan.metrics.lpips_diversity import lpips_diversity
from mmagan.metrics.mode_coverage import mode_coverage
from mmagan.metrics.ppl import PPLSettings, lpips_distance
from mmagan.metrics.stacked_modes import stacked_mode_figures, triple_labels
from mmagan.registry import Registry


@dataclass
class Scorer:
    """What the figures need besides the samples: the fidelity settings (Inception weights, cache),
    an LPIPS model, the LPIPS pairing and the PPL protocol. Built once per run or command."""

    fidelity: FidelitySettings | None = None
    lpips_model: nn.Module | None = None
    lpips_num_samples: int = 1000  # the first N samples ...
    lpips_minibatch: int = 64  # ... paired within minibatches of this size
    ppl: PPLSettings | None = None
    mode_threshold: float = 3.0  # mixtures: "high quality" within this many stds of a mode
    mode_protocol: dict | None = None  # how the mode draws were made, once they were


def mode_figures(draws: Sequence[Tensor], reference, threshold: float = 3.0) -> dict[str, float]:
    """modes/* of independent draws of samples: on a mixture, modes captured, % high quality and
    reverse KL, the mean over draws (and `<figure>_draw_std` over two draws or more); on stacked
    digits, modes and KL to uniform of the first draw (the validation callbacks' figures)."""
    if reference.mixture is not None:
        m = reference.mixture
        per_draw = [mode_coverage(s, m.modes, m.std, threshold) for s in draws]
        figures = {k: float(np.mean([f[k] for f in per_draw])) for k in per_draw[0]}
        if len(per_draw) > 1:
            figures.update(
                {f"{k}_draw_std": float(np.std([f[k] for f in per_draw], ddof=1)) for k in per_draw[0]}
            )
    elif reference.classify_channels is not None:
        samples = draws[0]
        figures = stacked_mode_figures(
            triple_labels(samples, reference.classify_channels), 10 ** samples.shape[1]
        )
    else:
        raise ValueError("modes needs data with known modes (a mixture or stacked digits)")
    return {f"modes/{k}": v for k, v in figures.items()}


@dataclass(frozen=True)
class ScoreInputs:
    """What a metric may read: uint8 samples of G (N, C, H, W) on the device the metrics run on; the
    DataModule's EvaluationOffer (training images, the mixture or digit classifier); G in eval mode
    (seeded by `seed`); independent draws of raw samples."""

    images: Tensor | None = None
    reference: Any = None
    generator: nn.Module | None = None
    seed: int = 0
    draws: Sequence[Tensor] = ()


@dataclass(frozen=True)
class MetricFamily:
    """Metrics one call computes, and what they read (StyleGAN2-ADA's `register_metric`, by family):
    `images` (samples of G, on image data), `draws` (raw samples of data with known modes) or
    `generator` (G itself, walking its own latent paths, on image data)."""

    names: tuple[str, ...]
    needs: str
    compute: Callable[[list[str], Scorer, ScoreInputs], dict[str, float]]


#: family name -> its metrics; a new metric is one entry here (evaluation, mmagan-eval, checks follow).
METRIC_FAMILIES: Registry[MetricFamily] = Registry("metric")


def _fidelity(names: list[str], scorer: Scorer, x: ScoreInputs) -> dict[str, float]:
    real = x.reference.reference_images()
    key = f"{x.reference.reference_key()}-{images_fingerprint(real)}"
    return fidelity_metrics(x.images, names, scorer.fidelity, real=real, real_key=key)


def _lpips(names: list[str], scorer: Scorer, x: ScoreInputs) -> dict[str, float]:
    samples = x.images[: scorer.lpips_num_samples].float().div(127.5).sub(1)
    return lpips_diversity(scorer.lpips_model.to(samples.device), samples, scorer.lpips_minibatch)


def _ppl(names: list[str], scorer: Scorer, x: ScoreInputs) -> dict[str, float]:
    device = next(x.generator.parameters()).device
    return scorer.ppl.measure(x.generator, lpips_distance(scorer.lpips_model.to(device)), x.seed)


def _modes(names: list[str], scorer: Scorer, x: ScoreInputs) -> dict[str, float]:
    return mode_figures(x.draws, x.reference, scorer.mode_threshold)


METRIC_FAMILIES.add("fidelity", MetricFamily(FIDELITY_METRICS, "images", _fidelity))
METRIC_FAMILIES.add("lpips", MetricFamily(("lpips",), "images", _lpips))
METRIC_FAMILIES.add("ppl", MetricFamily(("ppl",), "generator", _ppl))
METRIC_FAMILIES.add("modes", MetricFamily(("modes",), "draws", _modes))
METRICS = tuple(name for family in METRIC_FAMILIES.values() for name in family.names)


def needs(metric: str) -> str:
    """What `metric` reads: images, draws or generator (its family's `needs`)."""
    return next(f.needs for f in METRIC_FAMILIES.values() if metric in f.names)


def score(
    metrics: Sequence[str],
    scorer: Scorer,
    images: Tensor | None = None,
    reference=None,
    generator: nn.Module | None = None,
    seed: int = 0,
    draws: Sequence[Tensor] = (),
) -> dict[str, float]:
    """The figures named in `metrics` (from METRICS), each family from the inputs it reads
    (`ScoreInputs`)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; known: {list(METRICS)}")
    inputs = ScoreInputs(images, reference, generator, seed, draws)
    values: dict[str, float] = {}
    for family in METRIC_FAMILIES.values():
        asked = [m for m in metrics if m in family.names]
        if asked:
            values.update(family.compute(asked, scorer, inputs))
    return values
