"""Config -> objective, nets, GAN module, DataModule, callbacks, loggers, trainer: every command
assembles its pieces here, after the config has been validated."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, OmegaConf

from mmagan.callbacks.from_config import RunParts, callbacks_from_config
from mmagan.callbacks.metrics_file import MetricsFile
from mmagan.callbacks.summary import ParameterSummary
from mmagan.checkpoint_meta import CheckpointMeta
from mmagan.config.validation import validate_config
from mmagan.data import build_datamodule
from mmagan.data.base import GANDataModule
from mmagan.errors import ConfigError
from mmagan.gan_module import GANModule
from mmagan.loggers import build_loggers
from mmagan.metrics.fidelity import FidelitySettings
from mmagan.metrics.weights import alexnet_weights
from mmagan.module_settings import ModuleSettings
from mmagan.nets import nets_for
from mmagan.nets.stylegan import generator_protocol
from mmagan.objectives import build_objective
from mmagan.regularizers import build_regularizers
from mmagan.runs.checkpoint_io import AtomicCheckpointIO
from mmagan.runs.checkpoints import check_resume, readable_or_newest
from mmagan.runs.output_dir import prepare_output_dir
from mmagan.runs.run_folder import RunFolder

log = logging.getLogger("mmagan")


@dataclass
class Run:
    """A built run: the trainer, the module, the DataModule, the run folder and the checkpoint a
    fit resumes from (None for a fresh start)."""

    trainer: L.Trainer
    module: GANModule
    datamodule: GANDataModule
    run_dir: Path
    ckpt_path: str | None

    def callback(self, kind: type) -> L.Callback | None:
        """The run's callback of type `kind`, or None."""
        return next((c for c in self.trainer.callbacks if isinstance(c, kind)), None)


def resolved(cfg: DictConfig) -> dict:
    """The config as plain values: what a checkpoint stores and a resume compares."""
    return OmegaConf.to_container(cfg, resolve=True)


def speed(cfg: DictConfig) -> DictConfig:
    """The `trainer.speed` block (mmagan's own switches, not Trainer arguments)."""
    return cfg.trainer.speed


def build_model(cfg: DictConfig) -> tuple[GANModule, GANDataModule]:
    """The GAN module and DataModule a validated config describes."""
    objective = build_objective(**cfg.model.objective)
    datamodule = build_datamodule(cfg.data, objective.d_steps, device_data=speed(cfg).device_data)
    generator, discriminator = nets_for(cfg.net, datamodule.sample_shape, objective)
    fast = speed(cfg)
    if fast.compile:
        generator.compile(mode=fast.compile_mode)  # in place: parameter names stay as they are
        discriminator.compile(mode=fast.compile_mode)
    settings = ModuleSettings.from_config(cfg, datamodule.sample_shape, world_size(cfg))
    meta = CheckpointMeta(resolved(cfg), datamodule.sample_shape)
    module = GANModule(
        generator, discriminator, objective, settings, build_regularizers(cfg, objective), meta
    )
    datamodule.batches_done = lambda: module.iteration  # a resumed loader starts after these
    datamodule.evaluation_batches = module.eval_dataloader
    return module, datamodule


def world_size(cfg: DictConfig) -> int:
    """Processes that each train on their own batch (DDP): devices x nodes, where they are numbers."""
    devices, nodes = OmegaConf.select(cfg, "trainer.devices"), OmegaConf.select(cfg, "trainer.num_nodes") or 1
    return (devices if isinstance(devices, int) and devices > 0 else 1) * (
        nodes if isinstance(nodes, int) else 1
    )


def fetch_metric_weights(cfg: DictConfig, fidelity: FidelitySettings) -> None:
    """The image metrics' weights, fetched now (or refused in one line) rather than at the first
    validation."""
    if cfg.callbacks.fidelity.metrics:
        fidelity.weights()
    lpips_users = [c for c in (cfg.callbacks.lpips_diversity, cfg.callbacks.ppl) if c.enabled]
    if any(not c.random_trunk for c in lpips_users):
        alexnet_weights(fidelity.lpips_trunk_weights_path)


def run_protocol(cfg: Any, module: GANModule) -> dict:
    """The evaluation protocol of a run's in-training figures, for metrics.json."""
    uses_lpips = cfg.lpips_diversity.enabled or cfg.ppl.enabled
    return {
        "eval_samples": module.settings.evaluation.samples,
        "mode_coverage_draws": cfg.mode_coverage.draws,
        "fidelity_metrics": list(cfg.fidelity.metrics),
        "lpips": "alex v0.1" if uses_lpips else None,
        "ema": module.generator_ema is not None,
        **generator_protocol(module.generator),
    }


def build_callbacks(
    cfg: Any, run_dir: Path, module: GANModule, datamodule: GANDataModule, fidelity: FidelitySettings
) -> list[L.Callback]:
    """The `callbacks` group's callbacks, then metrics.json's writer (last: on Ctrl-C the checkpoint
    is saved before the metrics are written)."""
    parts = RunParts(RunFolder(run_dir), module, datamodule, fidelity)
    return [
        ParameterSummary(),
        *callbacks_from_config(cfg, parts),
        MetricsFile(parts.run.metrics, run_protocol(cfg, module)),
    ]


def checkpoint_to_resume(cfg: DictConfig, run_dir: Path) -> str | None:
    """ckpt_path when given; else the run folder's last.ckpt, left by an interrupted earlier start.
    Either is read and compared with this config before anything is built."""
    if cfg.ckpt_path is not None:
        path = str(cfg.ckpt_path)
        if not Path(path).is_file():
            raise ConfigError(f"ckpt_path={path!r} is not a file; give the path of a .ckpt to resume from")
    else:
        last = RunFolder(run_dir).last_checkpoint
        if not (cfg.rerun.resume_last and last.is_file()):
            return None
        log.info("resuming from this folder's %s", last)
        path = str(last)
    path = str(readable_or_newest(path))
    for line in check_resume(path, resolved(cfg)):
        log.warning("changed since the checkpoint: %s", line)
    return path


def cluster_plugins() -> list:
    """Under submitit, submitit requeues a job at its time limit; Lightning's own SLURM requeue would
    requeue it a second time, so it is switched off there (plain sbatch keeps Lightning's)."""
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm":
        return [SLURMEnvironment(auto_requeue=False)]
    return []


def job_cpu_share() -> int | None:
    """The cores a launcher gave this job: SLURM's cpus-per-task, or Ray's num_cpus for the task."""
    if os.environ.get("SLURM_CPUS_PER_TASK"):
        return int(os.environ["SLURM_CPUS_PER_TASK"])
    ray = sys.modules.get("ray")  # a Ray worker has imported it; no other run pays for the import
    if ray is not None and ray.is_initialized():
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
        return max(1, int(cpus)) if cpus else None
    return None


NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def drop_failing_nvml_check() -> None:
    """Lightning sets PYTORCH_NVML_BASED_CUDA_CHECK=1 on import, so that torch asks NVML, not CUDA,
    whether a GPU is there. Where NVML's library is missing (CPU-only hosts) torch retries loading it
    on every `torch.cuda.is_available()`, which torch.optim calls on every Adam step, then falls back
    to the CUDA runtime's answer all the same: the setting only adds a failed dlopen per optimizer
    step. Dropping it there changes no answer."""
    if os.environ.get(NVML_CHECK) != "1" or not torch.backends.cuda.is_built():
        return
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        del os.environ[NVML_CHECK]


def apply_global_speed(cfg: DictConfig) -> None:
    """Process-wide switches: TF32, torch's intra-op threads (jobs sharing a machine must keep to
    their share of its cores: oversubscribed OpenMP threads slow every job many times over), and no
    failing NVML probe per optimizer step."""
    fast = speed(cfg)
    drop_failing_nvml_check()
    if fast.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.set_float32_matmul_precision("high")
    threads = job_cpu_share() if fast.threads == "auto" else fast.threads
    if threads:
        torch.set_num_threads(threads)
    log.info("torch threads: %d", torch.get_num_threads())


def trainer_arguments(cfg: DictConfig) -> dict:
    """`trainer` without mmagan's own `speed` block: what lightning.Trainer takes."""
    args = OmegaConf.to_container(cfg.trainer, resolve=True)
    args.pop("speed", None)
    return args


def build(cfg: DictConfig) -> Run:
    """Everything a run needs, after every value has been checked."""
    validate_config(cfg)
    run_dir = Path(cfg.paths.output_dir)
    prepare_output_dir(run_dir)
    ckpt_path = checkpoint_to_resume(cfg, run_dir)
    apply_global_speed(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module, datamodule = build_model(cfg)
    fidelity = FidelitySettings.from_config(cfg.fidelity)
    fetch_metric_weights(cfg, fidelity)
    callbacks = build_callbacks(cfg.callbacks, run_dir, module, datamodule, fidelity)
    loggers = build_loggers(cfg.logger, run_dir)
    trainer = L.Trainer(
        **trainer_arguments(cfg),
        max_steps=cfg.iterations * module.steps_per_iteration if cfg.iterations > 0 else -1,
        callbacks=callbacks,
        logger=loggers or False,
        default_root_dir=run_dir,
        enable_progress_bar=cfg.callbacks.progress_bar.refresh_rate > 0,
        plugins=[*cluster_plugins(), AtomicCheckpointIO()],
        # The training loader splits each epoch's order between DDP ranks itself (resumable).
        use_distributed_sampler=False,
    )
    for logger in loggers:
        logger.log_hyperparams(resolved(cfg))
    return Run(trainer, module, datamodule, run_dir, ckpt_path)
