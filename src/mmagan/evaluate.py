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
from mmagan.errors import ConfigError, exit_on_user_error
from mmagan.metrics.fidelity import FIDELITY_METRICS, FidelitySettings
from mmagan.metrics.lpips_diversity import load_lpips
from mmagan.metrics.ppl import PPLSettings, usable_spaces
from mmagan.metrics.score import METRICS, Scorer, score
from mmagan.nets.stylegan import generator_protocol
from mmagan.runs.checkpoints import load_generator
from mmagan.runs.files import merge_into_metrics, write_json
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
    return torch.cat([quantize(sampler(chunk)) for chunk in chunks])


def checked_metrics(cfg: DictConfig) -> list[str]:
    """The requested metrics, after every eval setting has been checked."""
    metrics = list(
        check(
            cfg,
            "metrics",
            lambda v: len(v) > 0 and all(m in METRICS for m in v),
            f"a non-empty list from {list(METRICS)}",
        )
    )
    for key in ("num_samples", "batch_size", "lpips.num_samples", "lpips.minibatch"):
        check(cfg, key, int_at_least(2 if key.startswith("lpips") else 1), "a positive integer")
    validate_fidelity(cfg)
    validate_ppl(cfg, "ppl.")
    return metrics


def eval_device(configured: str) -> torch.device:
    """`device` as configured; auto is cuda when one is visible, else cpu."""
    if configured == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(configured)


def prepared_scorer(cfg: DictConfig, metrics: list[str], sampler: Sampler) -> Scorer:
    """What the metrics need, fetched or refused (weights offline, a space G lacks) before any
    long work."""
    if len(sampler.sample_shape) != 3:
        raise ConfigError(
            f"mmagan-eval scores images; the run's data {sampler.config['data']['name']!r} is not images"
        )
    scorer = Scorer(
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
    protocol: dict = {
        "num_samples": cfg.num_samples,
        "seed": cfg.seed,
        "resolution": sampler.sample_shape[-1],
        "ema": sampler.ema,
        **generator_protocol(sampler.net),
    }
    if reference is not None:
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
    metrics = checked_metrics(cfg)
    ckpt = Path(cfg.ckpt_path)
    device = eval_device(cfg.device)
    sampler = load_generator(ckpt, ema=cfg.ema, device=device)  # the checkpoint alone rebuilds G
    train_cfg = OmegaConf.create(sampler.config)
    train_cfg.merge_with_dotlist(list(cfg.train_overrides))
    scorer = prepared_scorer(cfg, metrics, sampler)

    seconds: dict[str, float] = {}
    values: dict[str, float] = {}
    fidelity = [m for m in metrics if m in FIDELITY_METRICS]
    reference = training_data(train_cfg.data).evaluation() if fidelity else None
    images = None
    if fidelity or "lpips" in metrics:  # PPL draws its own latent pairs
        start = time.perf_counter()
        images = generate(sampler, cfg.num_samples, cfg.batch_size, cfg.seed)
        seconds["generate"] = time.perf_counter() - start
    for group, names in (("fidelity", fidelity), ("lpips", ["lpips"]), ("ppl", ["ppl"])):
        names = [m for m in names if m in metrics]
        if names:
            start = time.perf_counter()
            values.update(score(names, scorer, images, reference, sampler.net, seed=cfg.seed))
            seconds[group] = time.perf_counter() - start
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
    exit_on_user_error(lambda: evaluate(cfg))


if __name__ == "__main__":
    main()
