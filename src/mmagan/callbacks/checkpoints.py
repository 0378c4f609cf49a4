"""Checkpoints counted in generator iterations, and a checkpoint on Ctrl-C."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from mmagan.interrupts import HeldSignals


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

    The stopping signals are held while an iteration trains, so the state saved is never D's step
    without G's. Other exceptions save nothing: after a non-finite loss the weights in memory are
    broken and the last periodic checkpoint is the good one to keep.
    """

    def __init__(self, dirpath: str) -> None:
        self.dirpath = dirpath
        self.signals = HeldSignals()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.signals.install()  # after Lightning's and submitit's handlers, in front of them

    def on_train_batch_start(self, *args) -> None:
        self.signals.holding = True

    def on_train_batch_end(self, *args) -> None:
        self.signals.release()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.signals.uninstall()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self.signals.uninstall()
        if isinstance(exception, (KeyboardInterrupt, SystemExit)):
            trainer.save_checkpoint(f"{self.dirpath}/last.ckpt")
