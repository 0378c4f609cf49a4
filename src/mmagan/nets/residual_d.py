"""StyleGAN2's residual discriminator, with a minibatch standard-deviation layer and K outputs."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmagan.nets.equalized import EqualConv2d, EqualLinear
from mmagan.nets.resample import downsample2d
from mmagan.nets.stylegan import channels_at


def minibatch_std(x: Tensor, group_size: int, num_channels: int = 1) -> Tensor:
    """Append the standard deviation of features over groups of samples as extra channels: D can
    see a batch's lack of variety. The group is the largest divisor of N up to `group_size` (shape
    arithmetic only, so any batch size works and nothing is read from the device)."""
    n, c, h, w = x.shape
    g = max(d for d in range(1, min(group_size, n) + 1) if n % d == 0)
    f = num_channels
    y = x.reshape(g, -1, f, c // f, h, w).float()
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # (N/G, F, C/F, H, W)
    y = y.mean([2, 3, 4]).reshape(-1, f, 1, 1).repeat(g, 1, h, w).to(x.dtype)
    return torch.cat([x, y], 1)


class ResidualBlock(nn.Module):
    """conv 3x3 -> conv 3x3 -> 2x downsampling (average pool, or StyleGAN2's FIR filter), beside a
    downsampled 1x1 skip; the sum scaled by 1/sqrt 2."""

    def __init__(self, c_in: int, c_out: int, resample: str = "bilinear") -> None:
        super().__init__()
        self.resample = resample
        self.conv0 = EqualConv2d(c_in, c_in, 3, act=True)
        self.conv1 = EqualConv2d(c_in, c_out, 3, act=True)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        skip = self.skip(downsample2d(x, self.resample))
        x = downsample2d(self.conv1(self.conv0(x)), self.resample)
        return (skip + x) / math.sqrt(2)


class ResidualDiscriminator(nn.Module):
    """StyleGAN2's residual D: fromRGB, residual blocks that halve the resolution (FIR or bilinear,
    as G resamples), the minibatch standard deviation over groups of `mbstd_group` (0: none), a
    conv and a dense layer, then `out_features` logits (MMA-GAN's K heads)."""

    def __init__(
        self,
        resolution: int,
        channels: int,
        out_features: int = 1,
        channel_base: int = 16384,
        channel_max: int = 512,
        mbstd_group: int = 4,
        resample: str = "bilinear",
    ) -> None:
        super().__init__()
        res = [2**i for i in range(int(math.log2(resolution)), 2, -1)]  # resolution .. 8
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        self.from_rgb = EqualConv2d(channels, ch(resolution), 1, act=True)
        self.blocks = nn.Sequential(*[ResidualBlock(ch(r), ch(r // 2), resample) for r in res])
        self.mbstd_group = mbstd_group
        c4 = ch(4)
        self.conv = EqualConv2d(c4 + (1 if mbstd_group > 0 else 0), c4, 3, act=True)
        self.fc = EqualLinear(c4 * 16, c4, act=True)
        self.head = EqualLinear(c4, out_features)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(self.from_rgb(x))
        if self.mbstd_group > 0:
            x = minibatch_std(x, self.mbstd_group)
        return self.head(self.fc(self.conv(x).flatten(1)))
