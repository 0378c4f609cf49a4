"""Checkpoints counted in generator iterations, and a checkpoint on Ctrl-C."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class IterationCheckpoint(ModelCheckpoint):
    """ModelCheckpoint with `{iteration}` in file names and the period in generator iterations.

    Lightning's global_step counts every optimizer step (d_steps + 1 per iteration), which is not
    what a user means by "every 1000 steps" of a GAN.
    """

    def __init__(self, every_n_iterations: int, steps_per_iteration: int, **kwargs) -> None:
        self.steps_per_iteration = steps_per_iteration
        super().__init__(
            every_n_train_steps=every_n_iterations * steps_per_iteration if every_n_iterations > 0 else None,
            **kwargs,
        )

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self._trainer = trainer

    def format_checkpoint_name(self, metrics: dict[str, torch.Tensor], *args, **kwargs) -> str:
        iteration = torch.tensor(self._trainer.global_step // self.steps_per_iteration)
        return super().format_checkpoint_name({**metrics, "iteration": iteration}, *args, **kwargs)


class InterruptCheckpoint(L.Callback):
    """When the run is interrupted, save the state reached as `last.ckpt`: Ctrl-C, SIGTERM
    (Lightning's SIGTERMException) or a cluster's time limit (submitit exits the job to requeue
    it). A run started again in the same folder, or with ckpt_path=..., resumes from it.

    Other exceptions save nothing: after a non-finite loss the weights in memory are broken and the
    last periodic checkpoint is the good one to keep.
    """

    def __init__(self, dirpath: str) -> None:
        self.dirpath = dirpath

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, (KeyboardInterrupt, SystemExit)):
            trainer.save_checkpoint(f"{self.dirpath}/last.ckpt")
