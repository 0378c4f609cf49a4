"""The one scoring path: the validation callbacks (on the validation samples of a training run)
and `mmagan-eval` (on a checkpoint's samples) both call `score`, so a figure means the same in
both places, computed the same way from the same kind of input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from mmagan.metrics.fidelity import FIDELITY_METRICS, FidelitySettings, fidelity_metrics, images_fingerprint
from mmagan.metrics.lpips_diversity import lpips_diversity
from mmagan.metrics.ppl import PPLSettings, lpips_distance

SAMPLE_METRICS = (*FIDELITY_METRICS, "lpips")  # figures of a set of samples
METRICS = (*SAMPLE_METRICS, "ppl")  # ppl walks the generator's latent paths itself


@dataclass
class Scorer:
    """What the figures need besides the samples: the fidelity settings (Inception weights, cache),
    an LPIPS model, the LPIPS pairing and the PPL protocol. Built once per run or command."""

    fidelity: FidelitySettings | None = None
    lpips_model: nn.Module | None = None
    lpips_num_samples: int = 1000  # the first N samples ...
    lpips_minibatch: int = 64  # ... paired within minibatches of this size
    ppl: PPLSettings | None = None


def score(
    metrics: Sequence[str],
    scorer: Scorer,
    images: Tensor | None = None,
    reference=None,
    generator: nn.Module | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """The figures named in `metrics` (from METRICS).

    images: uint8 samples (N, C, H, W) on the device the metrics run on, for the sample metrics;
    reference: the DataModule's EvaluationOffer, whose training images fid / kid / prc compare with
    (their features cached under a content key); generator: G in eval mode, for ppl (seeded by
    `seed`)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; known: {list(METRICS)}")
    values: dict[str, float] = {}
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
