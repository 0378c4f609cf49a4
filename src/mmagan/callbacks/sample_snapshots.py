"""Samples from fixed latents at intervals: an image grid, or a scatter for 2-D data."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch

from mmagan.callbacks.logged_images import log_image
from mmagan.plots import save_image_grid, save_scatter
from mmagan.sampler import sample_in_eval_mode, seeded_latents


class SampleSnapshots(L.Callback):
    """Every `every_n_iterations` generator iterations and at the end of training."""

    def __init__(
        self, out_dir: str | Path, every_n_iterations: int = 1000, num_samples: int = 64, seed: int = 0
    ):
        self.out_dir = Path(out_dir)
        self.every = every_n_iterations
        self.num_samples = num_samples
        self.seed = seed
        self._last_saved = -1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.every > 0 and pl_module.iteration % self.every == 0:
            self.snapshot(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.snapshot(trainer, pl_module)

    @torch.no_grad()
    def snapshot(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Path | None:
        """Save (and log) G's samples of the fixed latents at the current iteration."""
        it = pl_module.iteration
        if not trainer.is_global_zero or it == self._last_saved:
            return None
        self._last_saved = it
        z = seeded_latents(self.num_samples, pl_module.latent_dim, self.seed).to(pl_module.device)
        samples = sample_in_eval_mode(pl_module.eval_generator, z)
        path = self.out_dir / f"iter{it:07d}.png"
        if samples.ndim == 4:
            save_image_grid(samples, path)
        else:
            mixture = trainer.datamodule.evaluation().mixture
            modes = mixture.modes if mixture is not None else None
            save_scatter(samples, path, modes, title=f"fixed latents, iteration {it}")
        log_image(trainer, "samples/fixed_latents", path, it)
        return path
