"""mmagan-train: compose the config, validate it, wire the pieces, fit, write metrics.json."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, OmegaConf

from mmagan.callbacks import build_callbacks, fidelity_settings
from mmagan.callbacks.metrics_file import MetricsFile
from mmagan.callbacks.mode_coverage import ModeCoverage
from mmagan.config_validation import validate_config, validate_net
from mmagan.configs import config_dir
from mmagan.data import build_datamodule
from mmagan.data.base import GANDataModule
from mmagan.errors import ConfigError, exit_on_user_error
from mmagan.gan_module import GANModule
from mmagan.loggers import build_loggers, finish_loggers
from mmagan.metrics.fidelity import FidelitySettings
from mmagan.metrics.weights import alexnet_weights
from mmagan.nets import build_nets
from mmagan.objectives import build_objective
from mmagan.sweep_jobs import run_job

log = logging.getLogger("mmagan")


@dataclass
class Run:
    trainer: L.Trainer
    module: GANModule
    datamodule: GANDataModule
    run_dir: Path
    ckpt_path: str | None

    def callback(self, kind: type) -> L.Callback | None:
        return next((c for c in self.trainer.callbacks if isinstance(c, kind)), None)


def build_model(cfg: DictConfig) -> tuple[GANModule, GANDataModule]:
    """The GAN module and DataModule a validated config describes (training and mmagan-eval)."""
    objective = build_objective(**cfg.model.objective)
    datamodule = build_datamodule(
        cfg.data, objective.d_steps, eval_samples=cfg.eval.num_samples, eval_batch_size=cfg.eval.batch_size
    )
    validate_net(cfg, datamodule.sample_shape)
    net_cfg = cfg.net.copy()
    if net_cfg.get("d_norm") == "auto":
        net_cfg.d_norm = "batch" if objective.d_batch_norm_ok else "none"
    generator, discriminator = build_nets(net_cfg, datamodule.sample_shape, objective.num_heads)

    opt, ema = cfg.model.optimizer, cfg.model.ema
    module = GANModule(
        generator,
        discriminator,
        objective,
        latent_dim=cfg.net.latent_dim,
        lr_g=opt.lr_g,
        lr_d=opt.lr_d,
        betas=tuple(opt.betas),
        ema_decay=ema.decay if ema.enabled else None,
        ema_start_iteration=ema.start_iteration,
        eval_samples=cfg.eval.num_samples,
        eval_seed=cfg.eval.seed,
    )
    return module, datamodule


def check_metric_inputs(cfg: DictConfig, datamodule: GANDataModule, fidelity: FidelitySettings) -> None:
    """Image metrics need image data and their weights: fetched now, or refused before training."""
    uses_fidelity = bool(cfg.callbacks.fidelity.metrics)
    uses_lpips = cfg.callbacks.lpips_diversity.enabled
    if (uses_fidelity or uses_lpips) and len(datamodule.sample_shape) != 3:
        raise ConfigError(
            f"callbacks.fidelity.metrics / callbacks.lpips_diversity need image data; data {cfg.data.name!r} "
            "is not images: use mode counting (callbacks.mode_coverage) instead"
        )
    if uses_fidelity:
        fidelity.weights()
    if uses_lpips and not cfg.callbacks.lpips_diversity.random_trunk:
        alexnet_weights(fidelity.lpips_trunk_weights_path)


def checkpoint_to_resume(cfg: DictConfig, run_dir: Path) -> str | None:
    """ckpt_path when given; else the run folder's last.ckpt, left by an interrupted earlier start."""
    if cfg.ckpt_path is not None:
        if not Path(cfg.ckpt_path).is_file():
            raise ConfigError(
                f"ckpt_path={cfg.ckpt_path!r} is not a file; give the path of a .ckpt to resume from"
            )
        return str(cfg.ckpt_path)
    last = run_dir / "checkpoints" / "last.ckpt"
    if cfg.rerun.resume_last and last.is_file():
        log.info("resuming from this folder's %s", last)
        return str(last)
    return None


def cluster_plugins() -> list:
    """Under submitit, submitit requeues a job at its time limit; Lightning's own SLURM requeue would
    requeue it a second time, so it is switched off there (plain sbatch keeps Lightning's)."""
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm":
        return [SLURMEnvironment(auto_requeue=False)]
    return []


def build(cfg: DictConfig) -> Run:
    """Everything a run needs, after every value has been checked."""
    validate_config(cfg)
    run_dir = Path(cfg.paths.output_dir)
    ckpt_path = checkpoint_to_resume(cfg, run_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module, datamodule = build_model(cfg)
    fidelity = fidelity_settings(cfg.fidelity)
    check_metric_inputs(cfg, datamodule, fidelity)
    callbacks = build_callbacks(cfg.callbacks, run_dir, module.steps_per_iteration, datamodule, fidelity)
    loggers = build_loggers(cfg.logger, run_dir)
    trainer = L.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        max_steps=cfg.iterations * module.steps_per_iteration if cfg.iterations > 0 else -1,
        callbacks=callbacks,
        logger=loggers or False,
        default_root_dir=run_dir,
        enable_progress_bar=cfg.callbacks.progress_bar.refresh_rate > 0,
        plugins=cluster_plugins(),
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return Run(trainer, module, datamodule, run_dir, ckpt_path)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, evaluate the final weights if the last validation was earlier, return the final figures."""
    run = build(cfg)
    try:
        run.trainer.fit(run.module, datamodule=run.datamodule, ckpt_path=run.ckpt_path)
        if run.module.last_eval_iteration != run.module.iteration:
            run.trainer.validate(run.module, datamodule=run.datamodule, verbose=False)
        figures = run.callback(MetricsFile).write(run.trainer, run.module, finished=True)
    finally:
        finish_loggers(run.trainer.loggers)
    if run.trainer.is_global_zero:
        log.info("run folder: %s", run.run_dir)
        for name in sorted(figures):
            log.info("  %-24s %g", name, figures[name])
        plot = getattr(run.callback(ModeCoverage), "last_plot", None)
        if plot is not None:
            log.info("samples over the true modes: %s", plot)
    return figures


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> dict | None:
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return run_job(cfg, train)  # a failing job is recorded; the sweep goes on
    exit_on_user_error(lambda: train(cfg))
    return None


if __name__ == "__main__":
    main()
