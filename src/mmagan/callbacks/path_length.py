"""Perceptual path length of the evaluation weights at validation (metrics/ppl_<space>_<sampling>)."""

from __future__ import annotations

from mmagan.callbacks.evaluation import EveryNValidations
from mmagan.metrics.lpips_diversity import load_lpips
from mmagan.metrics.ppl import lpips_distance, perceptual_path_length


class PathLength(EveryNValidations):
    """Every `every_n_validations`-th validation, on rank 0; the figures are broadcast to all ranks."""

    timer_name = "ppl"

    def __init__(
        self,
        spaces: list[str],
        sampling: str = "end",
        num_samples: int = 1000,
        epsilon: float = 1e-4,
        crop: bool = False,
        batch_size: int = 100,
        trunk_weights_path: str | None = None,
        random_trunk: bool = False,
        every_n_validations: int = 1,
    ) -> None:
        super().__init__(every_n_validations)
        self.spaces, self.sampling, self.num_samples = tuple(spaces), sampling, num_samples
        self.epsilon, self.crop, self.batch_size = epsilon, crop, batch_size
        self.trunk_weights_path, self.random_trunk = trunk_weights_path, random_trunk
        self.model = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.model = load_lpips(self.trunk_weights_path, self.random_trunk)

    def figures(self, trainer, pl_module) -> dict[str, float]:
        return perceptual_path_length(
            pl_module.eval_generator,
            lpips_distance(self.model.to(pl_module.device)),
            self.num_samples,
            self.spaces,
            self.sampling,
            self.epsilon,
            self.crop,
            self.batch_size,
        )
