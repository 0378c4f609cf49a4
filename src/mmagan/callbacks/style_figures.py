"""StyleGAN's figures (style mixing, truncation, noise) in <run>/plots at the end of training."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import lightning as L

from mmagan.inspect.style import write_style_figures
from mmagan.nets.stylegan import is_style_based
from mmagan.sampler import Sampler

log = logging.getLogger("mmagan")


class StyleFigures(L.Callback):
    """Drawn from the evaluation weights (EMA where enabled); a no-op for other generators."""

    def __init__(self, out_dir: str | Path, seed: int = 0) -> None:
        self.out_dir, self.seed = Path(out_dir), seed

    def on_train_end(self, trainer: L.Trainer, pl_module) -> None:
        net = pl_module.eval_generator
        if not trainer.is_global_zero or not is_style_based(net):
            return
        sampler = Sampler(
            net=copy.deepcopy(net),  # the Sampler puts its net in eval mode without gradients
            latent_dim=pl_module.latent_dim,
            sample_shape=tuple(pl_module.sample_shape),
            iteration=pl_module.iteration,
        )
        for path in write_style_figures(sampler, self.out_dir, self.seed):
            log.info("style figure -> %s", path)
