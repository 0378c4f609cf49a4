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

from mmagan.build import fidelity_settings
from mmagan.config import config_dir
from mmagan.config.validation import check, int_at_least, validate_fidelity, validate_ppl
from mmagan.console import quiet_library_noise
from mmagan.data import build_datamodule
from mmagan.errors import ConfigError, exit_on_user_error
from mmagan.metrics.fidelity import FIDELITY_METRICS, fidelity_metrics, images_fingerprint
from mmagan.metrics.lpips_diversity import load_lpips, lpips_diversity
from mmagan.metrics.ppl import lpips_distance, perceptual_path_length, usable_spaces
from mmagan.nets.stylegan import generator_protocol
from mmagan.runs.checkpoints import load_generator
from mmagan.runs.files import merge_into_metrics, write_json
from mmagan.runs.run_folder import RunFolder
from mmagan.sampler import Sampler, quantize

log = logging.getLogger("mmagan")
EVAL_METRICS = (*FIDELITY_METRICS, "lpips", "ppl")


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
    return torch.cat([quantize(sampler(chunk)) for chunk in chunks])


def evaluate(cfg: DictConfig) -> dict:
    metrics = list(
        check(
            cfg,
            "metrics",
            lambda v: len(v) > 0 and all(m in EVAL_METRICS for m in v),
            f"a non-empty list from {list(EVAL_METRICS)}",
        )
    )
    for key in ("num_samples", "batch_size", "lpips.num_samples", "lpips.minibatch"):
        check(cfg, key, int_at_least(2 if key.startswith("lpips") else 1), "a positive integer")
    validate_fidelity(cfg)
    validate_ppl(cfg, "ppl.")
    ckpt = Path(cfg.ckpt_path)
    device = torch.device(
        "cuda"
        if cfg.device == "auto" and torch.cuda.is_available()
        else ("cpu" if cfg.device == "auto" else cfg.device)
    )
    sampler = load_generator(ckpt, ema=cfg.ema, device=device)  # the checkpoint alone rebuilds G
    train_cfg = OmegaConf.create(sampler.config)
    train_cfg.merge_with_dotlist(list(cfg.train_overrides))
    if len(sampler.sample_shape) != 3:
        raise ConfigError(f"mmagan-eval scores images; the run's data {train_cfg.data.name!r} is not images")
    if "ppl" in metrics:
        usable_spaces(sampler.net, tuple(cfg.ppl.spaces))  # before any long work
    settings = fidelity_settings(cfg.fidelity)
    fid_metrics = [m for m in metrics if m in FIDELITY_METRICS]
    if fid_metrics:
        settings.weights()  # before any long work: refused offline with the file and folder named
    uses_lpips = "lpips" in metrics or "ppl" in metrics
    lpips_model = (
        load_lpips(settings.lpips_trunk_weights_path, cfg.lpips.random_trunk) if uses_lpips else None
    )

    seconds: dict[str, float] = {}
    if fid_metrics or "lpips" in metrics:  # PPL draws its own latent pairs
        start = time.perf_counter()
        fake = generate(sampler, cfg.num_samples, cfg.batch_size, cfg.seed)
        seconds["generate"] = time.perf_counter() - start
    values: dict[str, float] = {}
    protocol: dict = {
        "num_samples": cfg.num_samples,
        "seed": cfg.seed,
        "resolution": sampler.sample_shape[-1],
        "ema": sampler.ema,
        **generator_protocol(sampler.net),
    }
    if fid_metrics:
        start = time.perf_counter()
        datamodule = build_datamodule(train_cfg.data, batches_per_step=1)
        datamodule.prepare_data()
        datamodule.setup("fit")
        offer = datamodule.evaluation()
        real = offer.reference_images()
        key = f"{offer.reference_key()}-{images_fingerprint(real)}"
        values.update(fidelity_metrics(fake, fid_metrics, settings, real=real, real_key=key))
        seconds["fidelity"] = time.perf_counter() - start
        protocol.update(
            reference=f"{offer.reference_key()}: all {len(real)} training images",
            feature_extractor=settings.feature_extractor,
            is_splits=settings.is_splits,
            kid_subsets=settings.kid_subsets,
            kid_subset_size=settings.kid_subset_size,
        )
    if "lpips" in metrics:
        start = time.perf_counter()
        samples = fake[: cfg.lpips.num_samples].to(device).float().div(127.5).sub(1)
        values.update(lpips_diversity(lpips_model.to(device), samples, cfg.lpips.minibatch))
        seconds["lpips"] = time.perf_counter() - start
        protocol.update(lpips="alex v0.1", lpips_minibatch=cfg.lpips.minibatch)
    if "ppl" in metrics:
        start = time.perf_counter()
        p = cfg.ppl
        values.update(
            perceptual_path_length(
                sampler.net,
                lpips_distance(lpips_model.to(device)),
                p.num_samples,
                tuple(p.spaces),
                p.sampling,
                p.epsilon,
                p.crop,
                p.batch_size,
                seed=cfg.seed,
            )
        )
        seconds["ppl"] = time.perf_counter() - start
        protocol.update(
            ppl=f"{p.sampling} points, epsilon {p.epsilon:g}, {p.num_samples} pairs, lpips alex v0.1, "
            f"1st-99th percentile mean{', face crop' if p.crop else ''}"
        )
    packages = ("mmagan", "torch", "torchvision", "torch-fidelity", "lpips", "lightning")
    report = {
        "checkpoint": str(ckpt.resolve()),
        "iteration": sampler.iteration,
        "metrics": values,
        "protocol": protocol,
        "seconds": seconds,
        "versions": {p: version(p) for p in packages},
        "device": str(device),
    }
    out_dir, metrics_file = output_place(ckpt, cfg.eval_dir)
    written = write_json(out_dir / f"{ckpt.stem}.json", report)
    if metrics_file is not None:
        merge_into_metrics(metrics_file, {f"eval/{k}": v for k, v in values.items()})
    for name, value in values.items():
        log.info("  %-22s %g", name, value)
    log.info("written: %s", written)
    return report


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="eval")
def main(cfg: DictConfig) -> None:
    quiet_library_noise()
    exit_on_user_error(lambda: evaluate(cfg))


if __name__ == "__main__":
    main()
