"""A tiny torch-fidelity feature extractor: fixed random projections of 8x8-pooled pixels.

Registered through `fidelity.feature_extractor_class=tiny_extractor.TinyExtractor`, so the metric
pipeline runs end to end without Inception weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

NAME = "tiny-test-extractor"
FEATURE_DIM, NUM_LOGITS = 16, 10


class TinyExtractor(FeatureExtractorBase):
    calls = 0  # images seen, across instances: tells a cache hit from a recomputation

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        g = torch.Generator().manual_seed(0)
        self.register_buffer("proj", torch.randn(3 * 8 * 8, FEATURE_DIM, generator=g) / 8)
        self.register_buffer("head", torch.randn(FEATURE_DIM, NUM_LOGITS, generator=g))

    @staticmethod
    def get_provided_features_list():
        return ("feat", "logits_unbiased")

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return "logits_unbiased" if metric == "isc" else "feat"

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return None

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = F.adaptive_avg_pool2d(x.float() / 255, 8).flatten(1)
        feat = pooled.double() @ self.proj.double()
        return {"feat": feat.float(), "logits_unbiased": (feat @ self.head.double()).float()}

    def forward(self, x):
        TinyExtractor.calls += len(x)
        f = self.features(x)
        return tuple(f[name] for name in self.features_list)
