"""Perceptual path length of the evaluation weights at validation (metrics/ppl_<space>_<sampling>)."""

from __future__ import annotations

from mmagan.callbacks.evaluation import EveryNValidations
from mmagan.metrics.lpips_diversity import load_lpips
from mmagan.metrics.ppl import PPLSettings
from mmagan.metrics.score import Scorer, score


class PathLength(EveryNValidations):
    """Every `every_n_validations`-th validation, on rank 0; the figures are broadcast to all ranks."""

    timer_name = "ppl"

    def __init__(
        self,
        settings: PPLSettings,
        trunk_weights_path: str | None = None,
        random_trunk: bool = False,
        every_n_validations: int = 1,
    ) -> None:
        super().__init__(every_n_validations)
        self.scorer = Scorer(ppl=settings)
        self.trunk_weights_path, self.random_trunk = trunk_weights_path, random_trunk

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.scorer.lpips_model = load_lpips(self.trunk_weights_path, self.random_trunk)

    def figures(self, trainer, pl_module) -> dict[str, float]:
        """PPL of the evaluation weights, through the shared `score`."""
        return score(["ppl"], self.scorer, generator=pl_module.eval_generator)
