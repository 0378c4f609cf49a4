"""mmagan-train: compose the config, validate it, wire the pieces, fit, write metrics.json."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

from mmagan.callbacks import build_callbacks
from mmagan.callbacks.metrics_file import MetricsFile
from mmagan.callbacks.mode_coverage import ModeCoverage
from mmagan.config_validation import validate_config, validate_net
from mmagan.configs import config_dir
from mmagan.data import build_datamodule
from mmagan.data.base import GANDataModule
from mmagan.errors import ConfigError, DataError, NonFiniteLossError
from mmagan.gan_module import GANModule
from mmagan.loggers import build_loggers
from mmagan.nets import build_nets
from mmagan.objectives import build_objective

log = logging.getLogger("mmagan")


@dataclass
class Run:
    trainer: L.Trainer
    module: GANModule
    datamodule: GANDataModule
    run_dir: Path

    def callback(self, kind: type) -> L.Callback | None:
        return next((c for c in self.trainer.callbacks if isinstance(c, kind)), None)


def build(cfg: DictConfig) -> Run:
    """Everything a run needs, after every value has been checked."""
    validate_config(cfg)
    if cfg.ckpt_path is not None and not Path(cfg.ckpt_path).is_file():
        raise ConfigError(
            f"ckpt_path={cfg.ckpt_path!r} is not a file; give the path of a .ckpt to resume from"
        )
    run_dir = Path(cfg.paths.output_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)

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
    callbacks = build_callbacks(cfg.callbacks, run_dir, module.steps_per_iteration, datamodule)
    loggers = build_loggers(cfg.logger, run_dir)
    trainer = L.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        max_steps=cfg.iterations * module.steps_per_iteration if cfg.iterations > 0 else -1,
        callbacks=callbacks,
        logger=loggers or False,
        default_root_dir=run_dir,
        enable_progress_bar=cfg.callbacks.progress_bar.refresh_rate > 0,
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return Run(trainer, module, datamodule, run_dir)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, evaluate the final weights if the last validation was earlier, return the final figures."""
    run = build(cfg)
    run.trainer.fit(run.module, datamodule=run.datamodule, ckpt_path=cfg.ckpt_path)
    if run.module.last_eval_iteration != run.module.iteration:
        run.trainer.validate(run.module, datamodule=run.datamodule, verbose=False)
    figures = run.callback(MetricsFile).write(run.trainer, run.module, finished=True)
    if run.trainer.is_global_zero:
        log.info("run folder: %s", run.run_dir)
        for name in sorted(figures):
            log.info("  %-24s %g", name, figures[name])
        plot = getattr(run.callback(ModeCoverage), "last_plot", None)
        if plot is not None:
            log.info("samples over the true modes: %s", plot)
    return figures


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> None:
    try:
        train(cfg)
    except ConfigError as e:
        log.error("config error: %s", e)
        sys.exit(2)
    except DataError as e:
        log.error("data error: %s", e)
        sys.exit(2)
    except NonFiniteLossError as e:
        log.error("training stopped: %s", e)
        sys.exit(1)


if __name__ == "__main__":
    main()
