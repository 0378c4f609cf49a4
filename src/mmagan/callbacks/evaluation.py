"""FID / IS / KID / precision-recall and LPIPS diversity on the validation samples.

Validation is G sampling the fixed evaluation latents (`eval.num_samples`, EMA weights where
enabled), so these callbacks score the same samples as every other metric. Under DDP each rank
generates its share; the shares are gathered to rank 0, which computes the figures, and the values
are broadcast so every rank logs the same (a best-FID checkpoint needs them everywhere).
"""

from __future__ import annotations

import logging
import time

import lightning as L
import torch
from torch import Tensor

from mmagan.metrics.fidelity import FidelitySettings
from mmagan.metrics.lpips_diversity import load_lpips
from mmagan.metrics.score import Scorer, score
from mmagan.sampler import quantize

log = logging.getLogger("mmagan")


class EveryNValidations(L.Callback):
    """Figures computed on rank 0 at every `every_n_validations`-th validation (never the sanity
    check), timed, broadcast so that every rank logs the same, and logged as `metrics/<name>`.
    Subclasses say what the figures are (`figures`)."""

    timer_name = "eval"

    def __init__(self, every_n_validations: int = 1) -> None:
        self.every = every_n_validations
        self._validations = 0
        self._due = False

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._due = not trainer.sanity_checking and self._validations % self.every == 0
        if not trainer.sanity_checking:
            self._validations += 1

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not self._due:
            return
        figures: dict[str, float] | None = None
        if trainer.is_global_zero:
            start = time.perf_counter()
            figures = self.figures(trainer, pl_module)
            figures[f"{self.timer_name}_seconds"] = time.perf_counter() - start
        self.done()
        if trainer.world_size > 1:
            figures = trainer.strategy.broadcast(figures, src=0)
        pl_module.log_dict({f"metrics/{k}": v for k, v in figures.items()}, sync_dist=False)

    def figures(self, trainer, pl_module) -> dict[str, float]:
        """The figures of this validation, computed on rank 0: {name: value}."""
        raise NotImplementedError

    def done(self) -> None:
        """After the figures of a due validation (every rank): release what they needed."""


class _ValidationSamples(EveryNValidations):
    """Collects the validation samples on rank 0 (CPU), every `every_n_validations` validations,
    and scores them (`compute`)."""

    def __init__(self, every_n_validations: int = 1, max_samples: int | None = None) -> None:
        super().__init__(every_n_validations)
        self.max_samples = max_samples
        self._samples: list[Tensor] = []

    def convert(self, samples: Tensor) -> Tensor:
        """uint8, as mmagan-eval scores them; stays on the device the metrics run on."""
        return quantize(samples)

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        super().on_validation_epoch_start(trainer, pl_module)
        self._samples = []

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        if not self._due:
            return
        if self.max_samples is not None and sum(len(s) for s in self._samples) >= self.max_samples:
            return
        samples = outputs.detach()
        if trainer.world_size > 1:
            samples = pl_module.all_gather(samples).flatten(0, 1)
        if trainer.is_global_zero:
            self._samples.append(self.convert(samples))

    def figures(self, trainer, pl_module) -> dict[str, float]:
        samples = torch.cat(self._samples)
        if self.max_samples is not None:
            samples = samples[: self.max_samples]
        return self.compute(trainer, pl_module, samples)

    def done(self) -> None:
        self._samples = []

    def compute(self, trainer, pl_module, samples: Tensor) -> dict[str, float]:
        raise NotImplementedError


class FidelityMetrics(_ValidationSamples):
    """`metrics` of fid, is, kid, prc on every `every_n_validations`-th validation's samples,
    against the DataModule's reference images (their features cached on disk once)."""

    timer_name = "fidelity"

    def __init__(self, metrics: list[str], settings: FidelitySettings, every_n_validations: int = 1) -> None:
        super().__init__(every_n_validations)
        self.metrics = list(metrics)
        self.scorer = Scorer(fidelity=settings)

    def compute(self, trainer, pl_module, samples: Tensor) -> dict[str, float]:
        """FID / IS / KID / precision-recall of the gathered samples against the reference images."""
        return score(self.metrics, self.scorer, samples, reference=trainer.datamodule.evaluation())


class LPIPSDiversity(_ValidationSamples):
    """Mean LPIPS over pairs within minibatches of the first `num_samples` validation samples
    (uint8, as mmagan-eval scores them)."""

    timer_name = "lpips"

    def __init__(
        self,
        num_samples: int = 1000,
        minibatch: int = 64,
        trunk_weights_path: str | None = None,
        random_trunk: bool = False,
        every_n_validations: int = 1,
    ) -> None:
        super().__init__(every_n_validations, max_samples=num_samples)
        self.scorer = Scorer(lpips_num_samples=num_samples, lpips_minibatch=minibatch)
        self.trunk_weights_path, self.random_trunk = trunk_weights_path, random_trunk

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.scorer.lpips_model = load_lpips(self.trunk_weights_path, self.random_trunk)

    def compute(self, trainer, pl_module, samples: Tensor) -> dict[str, float]:
        """Mean LPIPS over pairs within minibatches of the first `num_samples` samples."""
        return score(["lpips"], self.scorer, samples.to(pl_module.device))
