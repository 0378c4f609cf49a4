"""Layers that let D compare the samples of a batch, so that a collapsed batch of fakes (every
sample alike) looks unlike a batch of reals. Each takes D's last hidden features (N, A) and
returns them with per-sample batch statistics appended; real and fake batches go through D
separately, so each sample is compared within its own batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

D_MINIBATCH = ("none", "discrimination", "stddev")


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. (2016): M_i = f(x_i) T in R^{B x C}; c_b(i, j) = exp(-||M_ib - M_jb||_1);
    o(x_i)_b = sum_j c_b(i, j) (j = i included, as in the authors' code); returns [f(x_i), o(x_i)]."""

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        # N(0, 0.05) as the authors' MinibatchLayer initialises T
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.05)
        self.out_features = in_features + kernels

    def forward(self, f: Tensor) -> Tensor:
        m = (f @ self.T).view(f.shape[0], self.kernels, self.kernel_dim)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)  # (N, N, B): ||M_ib - M_jb||_1
        return torch.cat([f, torch.exp(-l1).sum(1)], dim=1)


class MinibatchStddev(nn.Module):
    """ProGAN's minibatch standard deviation (Karras et al., 2018) on features: the standard
    deviation of each feature over the batch, averaged to one number, appended to every sample."""

    def __init__(self, in_features: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps
        self.out_features = in_features + 1

    def forward(self, f: Tensor) -> Tensor:
        std = (f.var(dim=0, unbiased=False) + self.eps).sqrt().mean()
        return torch.cat([f, std.expand(f.shape[0], 1)], dim=1)


def minibatch_layer(kind: str, in_features: int, kernels: int = 100, kernel_dim: int = 5) -> nn.Module:
    """The layer net.d_minibatch names (an identity for none), with its `out_features`."""
    if kind == "discrimination":
        return MinibatchDiscrimination(in_features, kernels, kernel_dim)
    if kind == "stddev":
        return MinibatchStddev(in_features)
    if kind == "none":
        layer = nn.Identity()
        layer.out_features = in_features
        return layer
    raise ValueError(f"net.d_minibatch must be one of {list(D_MINIBATCH)}, got {kind!r}")
