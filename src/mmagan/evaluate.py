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

from mmagan.callbacks import fidelity_settings
from mmagan.callbacks.metrics_file import merge_into_metrics, write_json
from mmagan.config_validation import check, int_at_least, validate_config, validate_fidelity
from mmagan.configs import config_dir
from mmagan.errors import ConfigError, exit_on_user_error
from mmagan.metrics.fidelity import FIDELITY_METRICS, fidelity_metrics, images_fingerprint, to_uint8
from mmagan.metrics.lpips_diversity import load_lpips, lpips_diversity
from mmagan.train import build_model

log = logging.getLogger("mmagan")
EVAL_METRICS = (*FIDELITY_METRICS, "lpips")


def run_config(ckpt: Path, overrides: list[str]) -> DictConfig:
    """The training config of the run the checkpoint belongs to (<run>/checkpoints/<ckpt>)."""
    run_dir = ckpt.resolve().parent.parent
    saved = run_dir / ".hydra" / "config.yaml"
    if not saved.is_file():
        raise ConfigError(
            f"{saved} is missing: ckpt_path must lie in <run>/checkpoints/ of an mmagan-train run"
        )
    cfg = OmegaConf.load(saved)
    cfg.paths.output_dir = str(run_dir)  # was ${hydra:runtime.output_dir}
    cfg.merge_with_dotlist(list(overrides))
    validate_config(cfg)
    return cfg


@torch.no_grad()
def generate(module, n: int, batch_size: int, seed: int, device: torch.device) -> torch.Tensor:
    """n uint8 samples from G's evaluation weights (EMA where enabled), from seeded latents."""
    g = torch.Generator().manual_seed(seed)
    net = module.eval_generator.to(device).eval()
    out = []
    for start in tqdm(range(0, n, batch_size), desc="generating", unit="batch", leave=False):
        z = torch.randn(min(batch_size, n - start), module.latent_dim, generator=g).to(device)
        out.append(to_uint8(net(z)))
    return torch.cat(out)


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
    ckpt = Path(cfg.ckpt_path)
    if not ckpt.is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path!r} is not a file")
    train_cfg = run_config(ckpt, cfg.train_overrides)
    module, datamodule = build_model(train_cfg)
    if len(datamodule.sample_shape) != 3:
        raise ConfigError(f"mmagan-eval scores images; the run's data {train_cfg.data.name!r} is not images")
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    iteration = state["global_step"] // module.steps_per_iteration
    device = torch.device(
        "cuda"
        if cfg.device == "auto" and torch.cuda.is_available()
        else ("cpu" if cfg.device == "auto" else cfg.device)
    )
    settings = fidelity_settings(cfg.fidelity)
    fid_metrics = [m for m in metrics if m in FIDELITY_METRICS]
    if fid_metrics:
        settings.weights()  # before any long work: refused offline with the file and folder named
    lpips_model = (
        load_lpips(settings.lpips_trunk_weights_path, cfg.lpips.random_trunk) if "lpips" in metrics else None
    )

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    fake = generate(module, cfg.num_samples, cfg.batch_size, cfg.seed, device)
    seconds["generate"] = time.perf_counter() - start
    values: dict[str, float] = {}
    protocol: dict = {
        "num_samples": cfg.num_samples,
        "seed": cfg.seed,
        "resolution": datamodule.sample_shape[-1],
    }
    if fid_metrics:
        start = time.perf_counter()
        datamodule.prepare_data()
        datamodule.setup("fit")
        real = datamodule.reference_images()
        key = f"{datamodule.reference_key()}-{images_fingerprint(real)}"
        values.update(fidelity_metrics(fake, fid_metrics, settings, real=real, real_key=key))
        seconds["fidelity"] = time.perf_counter() - start
        protocol.update(
            reference=f"{datamodule.reference_key()}: all {len(real)} training images",
            feature_extractor=settings.feature_extractor,
            is_splits=settings.is_splits,
            kid_subsets=settings.kid_subsets,
            kid_subset_size=settings.kid_subset_size,
        )
    if lpips_model is not None:
        start = time.perf_counter()
        samples = fake[: cfg.lpips.num_samples].to(device).float().div(127.5).sub(1)
        values.update(lpips_diversity(lpips_model.to(device), samples, cfg.lpips.minibatch))
        seconds["lpips"] = time.perf_counter() - start
        protocol.update(lpips="alex v0.1", lpips_minibatch=cfg.lpips.minibatch)
    packages = ("mmagan", "torch", "torchvision", "torch-fidelity", "lpips", "lightning")
    report = {
        "checkpoint": str(ckpt.resolve()),
        "iteration": iteration,
        "metrics": values,
        "protocol": protocol,
        "seconds": seconds,
        "versions": {p: version(p) for p in packages},
        "device": str(device),
    }
    run_dir = Path(train_cfg.paths.output_dir)
    write_json(run_dir / "eval" / f"{ckpt.stem}.json", report)
    merge_into_metrics(run_dir / "metrics.json", {f"eval/{k}": v for k, v in values.items()})
    for name, value in values.items():
        log.info("  %-22s %g", name, value)
    log.info("written: %s", run_dir / "eval" / f"{ckpt.stem}.json")
    return report


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="eval")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: evaluate(cfg))


if __name__ == "__main__":
    main()
