"""mmagan-eval: FID / IS / KID / precision-recall / LPIPS diversity of one checkpoint under the
published protocol, with the protocol and library versions written beside the values."""

from __future__ import annotations

import logging
import time
from importlib.metadata import version
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from mmagan.config import config_dir
from mmagan.config.validation import check, int_at_least, validate_fidelity, validate_ppl
from mmagan.console import quiet_library_noise
from mmagan.data import training_data
from mmagan.data.base import EvaluationOffer
from mmagan.errors import ConfigError, exit_on_user_error
from mmagan.metrics.fidelity import FIDELITY_METRICS, FidelitySettings
from mmagan.metrics.lpips_diversity import load_lpips
from mmagan.metrics.ppl import PPLSettings, usable_spaces
from mmagan.metrics.score import METRIC_FAMILIES, METRICS, Scorer, needs, score
from mmagan.nets.stylegan import generator_protocol
from mmagan.runs.checkpoints import load_generator
from mmagan.runs.files import merge_into_metrics, write_json
from mmagan.runs.output_dir import discard_unused_run_folder, hydra_run_folder
from mmagan.runs.run_folder import RunFolder
from mmagan.sampler import Sampler, quantize

log = logging.getLogger("mmagan")


def output_place(ckpt: Path, configured: str | None) -> tuple[Path, Path | None]:
    """(folder for <ckpt>.json, metrics.json to merge into): the run folder when the checkpoint is
    in <run>/checkpoints/ of a run, else `eval_dir` or an eval/ folder beside the checkpoint."""
    run = RunFolder.of_checkpoint(ckpt)
    metrics = run.metrics if run is not None else None
    if configured:
        return Path(configured), metrics
    return (run.eval if run is not None else ckpt.resolve().parent / "eval"), metrics


@torch.no_grad()
def generate(sampler: Sampler, n: int, batch_size: int, seed: int) -> torch.Tensor:
    """n uint8 samples from seeded latents (the images of `sampler.sample(n, seed)`), left on the
    sampler's device for the metrics to read there."""
    z = sampler.latents(n, seed)
    chunks = tqdm(z.split(batch_size), desc="generating", unit="batch", leave=False)
    return torch.cat(sampler.map_chunks(chunks, seed, quantize))


def checked_metrics(cfg: DictConfig) -> list[str] | None:
    """The requested metrics (None for auto), after every eval setting has been checked."""
    metrics = check(
        cfg,
        "metrics",
        lambda v: v == "auto" or (not isinstance(v, str) and len(v) > 0 and all(m in METRICS for m in v)),
        f"auto or a non-empty list from {list(METRICS)}",
    )
    for key in ("num_samples", "batch_size", "lpips.num_samples", "lpips.minibatch"):
        check(cfg, key, int_at_least(2 if key.startswith("lpips") else 1), "a positive integer")
    for key in ("modes.num_samples", "modes.draws"):
        check(cfg, key, lambda v: v is None or (isinstance(v, int) and v >= 1), "null or an integer >= 1")
    check(
        cfg, "modes.seed", lambda v: v is None or (isinstance(v, int) and v >= 0), "null or an integer >= 0"
    )
    validate_fidelity(cfg)
    validate_ppl(cfg, "ppl.")
    return None if metrics == "auto" else list(metrics)


def resolved_metrics(metrics: list[str] | None, offer: EvaluationOffer, sampler: Sampler) -> list[str]:
    """`auto`: the modes where the data has known modes, else FID, IS, KID and LPIPS; then each
    metric's need (images, known modes) checked against the run's data, in one line."""
    known_modes = offer.mixture is not None or offer.classify_channels is not None
    if metrics is None:
        metrics = ["modes"] if known_modes else ["fid", "is", "kid", "lpips"]
    data = sampler.config["data"]["name"]
    counted = [m for m in metrics if needs(m) == "draws"]
    if counted and not known_modes:
        raise ConfigError(f"metrics={counted} needs data with known modes; the run's data {data!r} has none")
    images = [m for m in metrics if needs(m) != "draws"]
    if images and len(sampler.sample_shape) != 3:
        raise ConfigError(
            f"metrics {images} score images; the run's data {data!r} is not images: use metrics=[modes]"
        )
    return metrics


@torch.no_grad()
def mode_draws(
    sampler: Sampler, cfg: DictConfig, train_cfg: DictConfig, offer: EvaluationOffer
) -> list[torch.Tensor]:
    """Independent draws of raw samples for `modes`, by the run's own evaluation protocol unless
    `modes.*` says otherwise: draw d from the latents of seed + d, in the run's evaluation batches,
    so that a checkpoint's figures are those its run logged at that iteration."""
    n = cfg.modes.num_samples or train_cfg.eval.num_samples
    seed = cfg.modes.seed if cfg.modes.seed is not None else train_cfg.eval.seed
    run_draws = OmegaConf.select(train_cfg, "callbacks.mode_coverage.draws", default=1)
    draws = cfg.modes.draws or (run_draws if offer.mixture is not None else 1)
    batch = train_cfg.eval.batch_size
    return [
        torch.cat(sampler.map_chunks(sampler.latents(n, seed + d).split(batch), seed + d))
        for d in range(draws)
    ]


def eval_device(configured: str) -> torch.device:
    """`device` as configured; auto is cuda when one is visible, else cpu."""
    if configured == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(configured)


def prepared_scorer(cfg: DictConfig, metrics: list[str], sampler: Sampler, threshold: float) -> Scorer:
    """What the metrics need, fetched or refused (weights offline, a space G lacks) before any
    long work."""
    scorer = Scorer(
        mode_threshold=threshold,
        fidelity=FidelitySettings.from_config(cfg.fidelity),
        lpips_num_samples=cfg.lpips.num_samples,
        lpips_minibatch=cfg.lpips.minibatch,
        ppl=PPLSettings.from_config(cfg.ppl),
    )
    if "ppl" in metrics:
        usable_spaces(sampler.net, scorer.ppl.spaces)
    if any(m in FIDELITY_METRICS for m in metrics):
        scorer.fidelity.weights()  # refused offline with the file and folder named
    if "lpips" in metrics or "ppl" in metrics:
        scorer.lpips_model = load_lpips(scorer.fidelity.lpips_trunk_weights_path, cfg.lpips.random_trunk)
    return scorer


def protocol_of(cfg: DictConfig, metrics: list[str], sampler: Sampler, scorer: Scorer, reference) -> dict:
    """How the figures were made, written beside them."""
    protocol: dict = {"ema": sampler.ema, **generator_protocol(sampler.net)}
    if any(needs(m) != "draws" for m in metrics):
        protocol.update(num_samples=cfg.num_samples, seed=cfg.seed, resolution=sampler.sample_shape[-1])
    if "modes" in metrics:
        protocol.update(modes=scorer.mode_protocol)
    if any(m in FIDELITY_METRICS for m in metrics):
        f = scorer.fidelity
        protocol.update(
            reference=f"{reference.reference_key()}: all {len(reference.reference_images())} training images",
            feature_extractor=f.feature_extractor,
            is_splits=f.is_splits,
            kid_subsets=f.kid_subsets,
            kid_subset_size=f.kid_subset_size,
        )
    if "lpips" in metrics:
        protocol.update(lpips="alex v0.1", lpips_minibatch=scorer.lpips_minibatch)
    if "ppl" in metrics:
        protocol.update(ppl=scorer.ppl.describe())
    return protocol


def write_report(cfg: DictConfig, ckpt: Path, values: dict[str, float], report: dict) -> Path:
    """<ckpt>.json in the eval folder; eval/* merged into the run's metrics.json when it has one."""
    out_dir, metrics_file = output_place(ckpt, cfg.eval_dir)
    written = write_json(out_dir / f"{ckpt.stem}.json", report)
    if metrics_file is not None:
        merge_into_metrics(metrics_file, {f"eval/{k}": v for k, v in values.items()})
    for name, value in values.items():
        log.info("  %-22s %g", name, value)
    log.info("written: %s", written)
    return written


def evaluate(cfg: DictConfig) -> dict:
    """Score one checkpoint: check the settings, rebuild G from the file, generate, score each group
    of metrics through `score` (as the validation callbacks do), write the report."""
    if OmegaConf.is_missing(cfg, "ckpt_path"):
        raise ConfigError(
            "ckpt_path is required: the checkpoint to score, e.g. "
            "mmagan-eval ckpt_path=outputs/train/runs/<run>/checkpoints/last.ckpt"
        )
    requested = checked_metrics(cfg)
    ckpt = Path(cfg.ckpt_path)
    device = eval_device(cfg.device)
    sampler = load_generator(ckpt, ema=cfg.ema, device=device)  # the checkpoint alone rebuilds G
    train_cfg = OmegaConf.create(sampler.config)
    train_cfg.merge_with_dotlist(list(cfg.train_overrides))
    reference = training_data(train_cfg.data).evaluation()
    metrics = resolved_metrics(requested, reference, sampler)
    threshold = OmegaConf.select(train_cfg, "callbacks.mode_coverage.threshold", default=3.0)
    scorer = prepared_scorer(cfg, metrics, sampler, threshold)

    seconds: dict[str, float] = {}
    values: dict[str, float] = {}
    images = None
    for name, family in METRIC_FAMILIES.items():
        names = [m for m in metrics if m in family.names]
        if not names:
            continue
        if family.needs == "images" and images is None:  # generated once for every image metric
            start = time.perf_counter()
            images = generate(sampler, cfg.num_samples, cfg.batch_size, cfg.seed)
            seconds["generate"] = time.perf_counter() - start
        start = time.perf_counter()
        if family.needs == "draws":
            draws = mode_draws(sampler, cfg, train_cfg, reference)
            values.update(score(names, scorer, reference=reference, draws=draws))
            scorer.mode_protocol = {
                "draws": len(draws),
                "samples_per_draw": len(draws[0]),
                "seed": cfg.modes.seed if cfg.modes.seed is not None else train_cfg.eval.seed,
                "threshold_std": threshold,
            }
        else:
            values.update(score(names, scorer, images, reference, sampler.net, seed=cfg.seed))
        seconds[name] = time.perf_counter() - start
    packages = ("mmagan", "torch", "torchvision", "torch-fidelity", "lpips", "lightning")
    report = {
        "checkpoint": str(ckpt.resolve()),
        "iteration": sampler.iteration,
        "metrics": values,
        "protocol": protocol_of(cfg, metrics, sampler, scorer, reference),
        "seconds": seconds,
        "versions": {p: version(p) for p in packages},
        "device": str(device),
    }
    write_report(cfg, ckpt, values, report)
    return report


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="eval")
def main(cfg: DictConfig) -> None:
    """mmagan-eval: one line and exit status 2 on a user error, never a traceback."""
    quiet_library_noise()
    exit_on_user_error(lambda: evaluate(cfg), on_user_error=discard_empty_run_folder)


def discard_empty_run_folder() -> None:
    """The run folder this command made, when it holds nothing yet (it stopped on its config)."""
    folder = hydra_run_folder()
    if folder is not None:
        discard_unused_run_folder(folder)


if __name__ == "__main__":
    main()
