"""Modes captured, % high quality and reverse KL at each validation, on data with known modes."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch import Tensor

from mmagan.callbacks.logged_images import log_image
from mmagan.metrics.generator_modes import generator_mode_counts, generator_mode_figures
from mmagan.metrics.score import mode_figures
from mmagan.plots import save_generator_modes, save_scatter


class ModeCoverage(L.Callback):
    """Reads the samples G produced in validation; logs `modes/*` and saves the scatter plot.

    One draw of 2,500 samples is a noisy estimate (with batch norm in G, two draws of the same G
    have differed by 13 points of % high quality), so each validation scores `draws` independent
    draws: the validation samples and `draws - 1` more from latents seeded `eval_seed + d`, the
    same at every validation. `modes/<figure>` is the mean over draws and
    `modes/<figure>_draw_std` the standard deviation between them. G runs as in validation: eval
    mode, so batch norm uses its running statistics.
    """

    def __init__(self, plot_dir: str | Path, threshold: float = 3.0, draws: int = 1) -> None:
        self.plot_dir = Path(plot_dir)
        self.threshold = threshold
        self.draws = int(draws)
        self._samples: list[Tensor] = []
        self.last_plot: Path | None = None

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._samples = []

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self._samples.append(outputs.detach())

    @torch.no_grad()
    def extra_draws(self, pl_module: L.LightningModule, n: int) -> list[Tensor]:
        draws = []
        for d in range(1, self.draws):
            g = torch.Generator().manual_seed(pl_module.settings.evaluation.seed + d)
            z = torch.randn(n, pl_module.latent_dim, generator=g).to(pl_module.device)
            draws.append(
                torch.cat(
                    [
                        pl_module.eval_generator(chunk)
                        for chunk in z.split(pl_module.settings.evaluation.batch_size)
                    ]
                )
            )
        return draws

    @torch.no_grad()
    def generator_modes(self, pl_module: L.LightningModule, offer) -> Tensor | None:
        """(k, M) counts for a G of several generators (MAD-GAN), each fed every evaluation
        latent; None for one generator."""
        g = pl_module.eval_generator
        if getattr(g, "num_generators", 1) < 2 or offer.mixture is None:
            return None
        chunks = pl_module.eval_latents.split(pl_module.settings.evaluation.batch_size)
        per_generator = [torch.cat([g.sample_from(j, z) for z in chunks]) for j in range(g.num_generators)]
        return generator_mode_counts(per_generator, offer.mixture.modes, offer.mixture.std, self.threshold)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self._samples:
            return
        samples = torch.cat(self._samples)
        if trainer.world_size > 1:
            samples = pl_module.all_gather(samples).flatten(0, 1)
        offer = trainer.datamodule.evaluation()
        draws = [samples, *self.extra_draws(pl_module, len(samples))]
        figures = mode_figures(draws, offer, self.threshold)  # the scoring path mmagan-eval takes
        generators = self.generator_modes(pl_module, offer)
        if generators is not None:
            figures.update(generator_mode_figures(generators))
        pl_module.log_dict(figures, sync_dist=False)
        if trainer.is_global_zero and generators is not None:
            it = pl_module.iteration
            title = f"iteration {it}: which generator covers which mode"
            save_generator_modes(generators, self.plot_dir / f"generators_over_modes_iter{it:07d}.png", title)
        if trainer.is_global_zero:
            it = pl_module.iteration
            first = mode_figures([samples], offer, self.threshold)  # the draw the scatter shows
            title = (
                f"iteration {it}, draw 1 of {len(draws)}: {first['modes/modes']:.0f} modes, "
                f"{first['modes/high_quality_pct']:.1f}% HQ"
            )
            self.last_plot = save_scatter(
                samples, self.plot_dir / f"modes_iter{it:07d}.png", offer.mixture.modes, title
            )
            log_image(trainer, "samples/modes", self.last_plot, it)
        self._samples = []
