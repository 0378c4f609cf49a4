"""FID, Inception Score, KID and precision/recall from one feature pass, through torch-fidelity.

torch-fidelity extracts every feature layer the requested metrics need in one pass over each
input, uses the TF-exact Inception network and resize, and caches the real set's features and
statistics. Its cache key ignores the weights file, so the key given here names the data set,
split, resolution, a content fingerprint of the images and the weights' hash.
"""

from __future__ import annotations

import importlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch_fidelity
from torch import Tensor
from torch.utils.data import Dataset
from torch_fidelity.generative_model_base import GenerativeModelBase

from mmagan.errors import ConfigError
from mmagan.metrics.weights import inception_weights, weights_fingerprint
from mmagan.runs.files import fingerprint

INCEPTION = "inception-v3-compat"
FIDELITY_METRICS = ("fid", "is", "kid", "prc")
_FLAGS = {"fid": "fid", "is": "isc", "kid": "kid", "prc": "prc"}
_RESULT_NAMES = {
    "frechet_inception_distance": "fid",
    "inception_score_mean": "is",
    "inception_score_std": "is_std",
    "kernel_inception_distance_mean": "kid",
    "kernel_inception_distance_std": "kid_std",
    "precision": "precision",
    "recall": "recall",
    "f_score": "f_score",
}


@dataclass
class FidelitySettings:
    """The `fidelity` config group."""

    feature_extractor: str = INCEPTION
    feature_extractor_class: str | None = None
    weights_path: str | None = None
    lpips_trunk_weights_path: str | None = None
    cache_dir: str = "data/fidelity_cache"
    batch_size: int = 200
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    progress: bool = True

    @classmethod
    def from_config(cls, cfg) -> FidelitySettings:
        """From the `fidelity` config group."""
        from omegaconf import OmegaConf

        return cls(**OmegaConf.to_container(cfg, resolve=True))

    def register_extractor(self) -> None:
        """Import and register a user's torch-fidelity FeatureExtractorBase subclass, if one is set."""
        if not self.feature_extractor_class:
            return
        module_name, _, cls_name = self.feature_extractor_class.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), cls_name)
        except (ImportError, AttributeError, ValueError) as e:
            raise ConfigError(
                f"fidelity.feature_extractor_class={self.feature_extractor_class!r} cannot be imported "
                f"({e}); give module.ClassName of a torch_fidelity FeatureExtractorBase subclass"
            ) from e
        if self.feature_extractor not in torch_fidelity.registry.FEATURE_EXTRACTORS_REGISTRY:
            torch_fidelity.register_feature_extractor(self.feature_extractor, cls)

    def weights(self) -> Path | None:
        """The Inception weights (downloaded on first use); None for a user's own extractor."""
        self.register_extractor()
        if self.feature_extractor == INCEPTION:
            return inception_weights(self.weights_path)
        if self.feature_extractor not in torch_fidelity.registry.FEATURE_EXTRACTORS_REGISTRY:
            known = sorted(torch_fidelity.registry.FEATURE_EXTRACTORS_REGISTRY)
            raise ConfigError(
                f"fidelity.feature_extractor={self.feature_extractor!r} is not registered with "
                f"torch-fidelity; known: {known}, or set fidelity.feature_extractor_class"
            )
        return Path(self.weights_path) if self.weights_path else None

    def weights_key(self) -> str:
        """The content hash of the extractor's weights file (`builtin` without one), in the cache
        key of the real features: features of other weights are never reused."""
        path = self.weights()
        return weights_fingerprint(path) if path is not None else "builtin"


class ImagesInOrder(GenerativeModelBase):
    """Generated uint8 images, kept where they were made (the GPU), handed to torch-fidelity batch
    after batch through its generative-model input: no per-item Dataset, no copy to the host.

    torch-fidelity draws its own noise for a generative model; the images here are the
    evaluation's own fixed-latent samples, so the noise only sets the batch size and is ignored.
    """

    def __init__(self, images: Tensor) -> None:
        super().__init__()
        self.register_buffer("images", images, persistent=False)
        self._next = 0

    @property
    def z_size(self) -> int:
        return 1

    @property
    def z_type(self) -> str:
        return "normal"

    @property
    def num_classes(self) -> int:
        return 0

    def forward(self, noise: Tensor) -> Tensor:
        batch = self.images[self._next : self._next + noise.shape[0]]
        self._next += noise.shape[0]
        return batch


class UInt8Images(Dataset):
    """The per-item view torch-fidelity iterates: uint8 (3, H, W) tensors."""

    def __init__(self, images) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Tensor:
        return torch.as_tensor(np.asarray(self.images[i]))


def images_fingerprint(images) -> str:
    """Cheap content key: count, shape and about 256 evenly spaced images."""
    n = len(images)
    sampled = (np.ascontiguousarray(np.asarray(images[i])).tobytes() for i in range(0, n, max(1, n // 256)))
    return fingerprint(itertools.chain([str(n)], sampled))


def fidelity_metrics(
    fake: Tensor,
    metrics: list[str],
    settings: FidelitySettings,
    real: Dataset | None = None,
    real_key: str | None = None,
) -> dict[str, float]:
    """`metrics` (subset of fid, is, kid, prc) of uint8 `fake` (N, 3, H, W), on any device,
    against `real` (read through a Dataset: the training set, whose features are cached).

    The real set's features and statistics are cached under `real_key` + the weights' hash.
    """
    unknown = sorted(set(metrics) - set(FIDELITY_METRICS))
    if unknown:
        raise ConfigError(f"unknown fidelity metric {unknown[0]!r}; known: {list(FIDELITY_METRICS)}")
    needs_real = any(m in metrics for m in ("fid", "kid", "prc"))
    weights = settings.weights()
    kwargs = dict(
        input1=ImagesInOrder(fake),
        input1_model_num_samples=len(fake),
        feature_extractor=settings.feature_extractor,
        feature_extractor_weights_path=str(weights) if weights else None,
        batch_size=settings.batch_size,
        cuda=torch.cuda.is_available(),
        verbose=settings.progress,
        cache_root=settings.cache_dir,
        isc_splits=settings.is_splits,
        kid_subsets=settings.kid_subsets,
        kid_subset_size=min(
            settings.kid_subset_size, len(fake), len(real) if real is not None else len(fake)
        ),
        save_cpu_ram=True,
        **{_FLAGS[m]: True for m in metrics},
    )
    if needs_real:
        if real is None or real_key is None:
            raise ValueError("fid, kid and prc need the real images and their cache key")
        kwargs.update(input2=UInt8Images(real), input2_cache_name=f"{real_key}-{settings.weights_key()}")
    result = torch_fidelity.calculate_metrics(**kwargs)
    return {_RESULT_NAMES[k]: float(v) for k, v in result.items() if k in _RESULT_NAMES}
