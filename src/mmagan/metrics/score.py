"""The one scoring path: the validation callbacks (on the validation samples of a training run)
and `mmagan-eval` (on a checkpoint's samples) both call `score`, so a figure means the same in
both places, computed the same way from the same kind of input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor, nn

from mmagan.metrics.fidelity import FIDELITY_METRICS, FidelitySettings, fidelity_metrics, images_fingerprint
from mmagan.metrics.lpips_diversity import lpips_diversity
from mmagan.metrics.mode_coverage import mode_coverage
from mmagan.metrics.ppl import PPLSettings, lpips_distance
from mmagan.metrics.stacked_modes import stacked_mode_figures, triple_labels

SAMPLE_METRICS = (*FIDELITY_METRICS, "lpips")  # figures of a set of images
# Mode counts need data with known modes (the reference's mixture or digit classifier): modes/*
# from draws of raw samples (2-D points or images in [-1, 1]), as the validation callbacks log them.
MODE_METRICS = ("modes",)
METRICS = (*SAMPLE_METRICS, "ppl", *MODE_METRICS)  # ppl walks the generator's latent paths itself


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


def score(
    metrics: Sequence[str],
    scorer: Scorer,
    images: Tensor | None = None,
    reference=None,
    generator: nn.Module | None = None,
    seed: int = 0,
    draws: Sequence[Tensor] = (),
) -> dict[str, float]:
    """The figures named in `metrics` (from METRICS).

    images: uint8 samples (N, C, H, W) on the device the metrics run on, for the sample metrics;
    reference: the DataModule's EvaluationOffer, whose training images fid / kid / prc compare with
    (their features cached under a content key), or the one whose modes `modes` counts; generator: G
    in eval mode, for ppl (seeded by `seed`); draws: independent draws of raw samples for `modes`."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; known: {list(METRICS)}")
    values: dict[str, float] = {}
    if "modes" in metrics:
        values.update(mode_figures(draws, reference, scorer.mode_threshold))
    fidelity = [m for m in metrics if m in FIDELITY_METRICS]
    if fidelity:
        real = reference.reference_images()
        key = f"{reference.reference_key()}-{images_fingerprint(real)}"
        values.update(fidelity_metrics(images, fidelity, scorer.fidelity, real=real, real_key=key))
    if "lpips" in metrics:
        samples = images[: scorer.lpips_num_samples].float().div(127.5).sub(1)
        values.update(lpips_diversity(scorer.lpips_model.to(samples.device), samples, scorer.lpips_minibatch))
    if "ppl" in metrics:
        device = next(generator.parameters()).device
        values.update(scorer.ppl.measure(generator, lpips_distance(scorer.lpips_model.to(device)), seed))
    return values
