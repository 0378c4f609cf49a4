"""Equalised learning rate (Karras et al., ProGAN/StyleGAN): weights drawn from N(0, 1) and scaled by
He's constant at every forward pass, so Adam's per-parameter step is the same relative size for every
layer. `lr_mul` also divides the stored weights, which slows a layer's learning by that factor (the
mapping net's 0.01) without optimizer parameter groups.

torch.nn has no such layers, and the StyleGAN ports on PyPI bundle them with whole training loops;
these are the few lines the generator and discriminator need.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LRELU_GAIN = math.sqrt(2)


def lrelu(x: Tensor) -> Tensor:
    """Leaky ReLU (0.2) with the gain that keeps unit variance through the layer."""
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


class EqualLinear(nn.Module):
    """A linear layer with the equalised learning rate (weights scaled at run time by
    1 / sqrt(fan_in) and `lr_mul`); `act` adds StyleGAN's leaky ReLU with gain sqrt(2)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        act: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mul)
        return lrelu(x) if self.act else x


class EqualConv2d(nn.Module):
    """Square convolution with "same" padding."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, act: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        x = F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.padding)
        return lrelu(x) if self.act else x
