"""2-D Gaussian mixtures with known modes: the PacGAN ring and grid."""

from __future__ import annotations

import inspect

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from mmagan.data.base import EvaluationOffer, GANDataModule
from mmagan.data.mixtures import MIXTURES, GaussianMixture, grid, ring  # noqa: F401 - their home before
from mmagan.errors import ConfigError


def _build_mixture(name: str, kwargs: dict) -> GaussianMixture:
    known = set(inspect.signature(MIXTURES[name]).parameters)
    for key, value in kwargs.items():
        if key not in known:
            raise ConfigError(
                f"data.mixture.{key} is not a parameter of the {name} mixture; known: {sorted(known)}"
            )
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"data.mixture.{key}={value!r} is invalid: must be a number > 0")
    return MIXTURES[name](**kwargs)


class Points(TensorDataset):
    """A set of points (N, D) that hands out whole batches and can move to the device."""

    def __init__(self, points: Tensor) -> None:
        super().__init__(points)

    def __getitems__(self, indices: list[int] | Tensor) -> Tensor:
        points = self.tensors[0]
        return points[torch.as_tensor(indices, device=points.device)]

    def on_device(self, device: torch.device) -> Points:
        return Points(self.tensors[0].to(device))


class ToyDataModule(GANDataModule):
    """A fixed training set drawn once from a mixture (PacGAN: 100k samples)."""

    sample_shape = (2,)

    def __init__(
        self,
        name: str = "ring",
        num_samples: int = 100_000,
        batch_size: int = 100,
        seed: int = 0,
        mixture: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__(batch_size=batch_size, **kwargs)
        if name not in MIXTURES:
            raise KeyError(f"unknown toy data set {name!r}; known: {sorted(MIXTURES)}")
        self.mixture = _build_mixture(name, dict(mixture or {}))
        if not isinstance(num_samples, int) or num_samples < self.step_batch_size:
            raise ConfigError(
                f"data.num_samples={num_samples!r} is invalid: must be an integer >= "
                f"one training step's batch "
                f"({self.step_batch_size} = data.batch_size x critic steps)"
            )
        self.num_samples, self.seed = num_samples, seed

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            g = torch.Generator().manual_seed(self.seed)
            self.train_set = Points(self.mixture.sample(self.num_samples, g))

    def evaluation(self) -> EvaluationOffer:
        """The mixture, so that modes, high-quality samples and reverse KL are counted."""
        return EvaluationOffer(mixture=self.mixture)
