"""Callbacks from the `callbacks` config group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from omegaconf import OmegaConf

from mmagan.callbacks.checkpoints import InterruptCheckpoint, IterationCheckpoint
from mmagan.callbacks.evaluation import FidelityMetrics, LPIPSDiversity
from mmagan.callbacks.metrics_file import MetricsFile
from mmagan.callbacks.mode_coverage import ModeCoverage
from mmagan.callbacks.sample_snapshots import SampleSnapshots
from mmagan.callbacks.stacked_modes import StackedModeCount
from mmagan.metrics.fidelity import FidelitySettings


def fidelity_settings(cfg: Any) -> FidelitySettings:
    return FidelitySettings(**OmegaConf.to_container(cfg, resolve=True))


def build_callbacks(
    cfg: Any,
    run_dir: Path,
    steps_per_iteration: int,
    datamodule: L.LightningDataModule,
    fidelity: FidelitySettings,
) -> list[L.Callback]:
    ckpt_dir = run_dir / "checkpoints"
    callbacks: list[L.Callback] = [
        IterationCheckpoint(
            every_n_iterations=cfg.checkpoint.every_n_iterations,
            steps_per_iteration=steps_per_iteration,
            dirpath=ckpt_dir,
            filename="iter{iteration:07d}",
            auto_insert_metric_name=False,
            save_top_k=cfg.checkpoint.save_top_k,
            save_last=cfg.checkpoint.save_last,
        ),
        InterruptCheckpoint(str(ckpt_dir)),
        SampleSnapshots(
            run_dir / "samples",
            every_n_iterations=cfg.sample_snapshots.every_n_iterations,
            num_samples=cfg.sample_snapshots.num_samples,
            seed=cfg.sample_snapshots.seed,
        ),
        MetricsFile(run_dir / "metrics.json"),
    ]
    if cfg.mode_coverage.enabled and hasattr(datamodule, "mixture"):
        callbacks.append(ModeCoverage(run_dir / "plots", threshold=cfg.mode_coverage.threshold))
    if cfg.mode_coverage.enabled and hasattr(datamodule, "classify_channels"):
        callbacks.append(StackedModeCount())
    if cfg.fidelity.metrics:
        every = cfg.fidelity.every_n_validations
        callbacks.append(FidelityMetrics(list(cfg.fidelity.metrics), fidelity, every))
        if "fid" in cfg.fidelity.metrics and cfg.fidelity.keep_best_fid:
            callbacks.append(
                ModelCheckpoint(
                    dirpath=ckpt_dir,
                    filename="best-fid",
                    monitor="metrics/fid",
                    mode="min",
                    save_top_k=1,
                    save_last=False,
                    auto_insert_metric_name=False,
                )
            )
    lp = cfg.lpips_diversity
    if lp.enabled:
        callbacks.append(
            LPIPSDiversity(
                lp.num_samples,
                lp.minibatch,
                fidelity.lpips_trunk_weights_path,
                lp.random_trunk,
                lp.every_n_validations,
            )
        )
    if cfg.progress_bar.refresh_rate > 0:
        callbacks.append(TQDMProgressBar(refresh_rate=cfg.progress_bar.refresh_rate))
    return callbacks
