"""The GAN module's settings, read once from a validated run config: the module takes these few
objects instead of one argument per key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf


@dataclass(frozen=True)
class OptimizerSettings:
    """Adam for D and G: learning rates, betas, and torch's implementation (trainer.speed.optimizer)."""

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    impl: str = "fused"


@dataclass(frozen=True)
class EmaSettings:
    """An exponential moving average of G's weights (model.ema); `decay` None: no average."""

    decay: float | None = None
    start_iteration: int = 0
    half_life_kimg: float | None = None
    rampup: float | None = None
    #: real images one iteration's G step sees across all devices: the half-life counts them
    images_per_iteration: int = 64


@dataclass(frozen=True)
class EvalSettings:
    """The fixed latents every validation draws from (eval.num_samples, batch_size, seed)."""

    samples: int = 2500
    batch_size: int = 500
    seed: int = 1234


@dataclass(frozen=True)
class ModuleSettings:
    latent_dim: int
    optimizer: OptimizerSettings = OptimizerSettings()
    ema: EmaSettings = EmaSettings()
    evaluation: EvalSettings = EvalSettings()
    log_every: int = 50
    channels_last: bool = False
    #: seconds between the loss guard's finiteness checks outside log steps (0: log steps only)
    loss_check_seconds: float = 2.0

    @classmethod
    def from_config(cls, cfg: Any, sample_shape: tuple[int, ...], world_size: int = 1) -> ModuleSettings:
        opt, ema, fast = cfg.model.optimizer, cfg.model.ema, cfg.trainer.speed
        return cls(
            latent_dim=cfg.net.latent_dim,
            optimizer=OptimizerSettings(
                opt.lr_g, opt.lr_d, tuple(OmegaConf.to_container(opt.betas)), fast.optimizer
            ),
            ema=EmaSettings(
                decay=ema.decay if ema.enabled else None,
                start_iteration=ema.start_iteration,
                half_life_kimg=ema.half_life_kimg,
                rampup=ema.rampup,
                images_per_iteration=cfg.data.batch_size * world_size,
            ),
            evaluation=EvalSettings(cfg.eval.num_samples, cfg.eval.batch_size, cfg.eval.seed),
            log_every=max(1, cfg.trainer.log_every_n_steps),
            channels_last=bool(fast.channels_last) and len(sample_shape) == 3,
            loss_check_seconds=fast.loss_check_seconds,
        )
