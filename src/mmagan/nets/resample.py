"""2x up- and downsampling: bilinear / average pooling, or StyleGAN2's separable [1, 3, 3, 1] FIR
filter with the padding of its upfirdn2d (up: zeros inserted, padded (2, 1), filtered with gain 4;
down: padded (1, 1), filtered, every second sample). Written here because torch has no FIR
resampling and the official op ships as a CUDA extension."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

RESAMPLES = ("bilinear", "filtered")
FIR = (1.0, 3.0, 3.0, 1.0)


def fir_kernel(channels: int, like: Tensor) -> Tensor:
    """(channels, 1, 4, 4): the normalised outer product of FIR with itself, one per channel."""
    k = torch.tensor(FIR, dtype=like.dtype, device=like.device)
    k = torch.outer(k, k)
    return (k / k.sum()).expand(channels, 1, 4, 4)


def upsample2d(x: Tensor, mode: str) -> Tensor:
    """2x upsampling: bilinear, or StyleGAN2's [1, 3, 3, 1] FIR filter after zero insertion (`filtered`)."""
    if mode == "bilinear":
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    # A transposed convolution with stride 2 is zero insertion followed by the filter; padding 1
    # here is upfirdn2d's (2, 1) padding of the zero-inserted image. Gain 4 keeps the mean.
    c = x.shape[1]
    return F.conv_transpose2d(x, fir_kernel(c, x) * 4, stride=2, padding=1, groups=c)


def downsample2d(x: Tensor, mode: str) -> Tensor:
    """2x downsampling: 2x2 average pooling (bilinear), or the FIR filter then stride 2 (`filtered`)."""
    if mode == "bilinear":
        return F.avg_pool2d(x, 2)
    c = x.shape[1]
    return F.conv2d(F.pad(x, (1, 1, 1, 1)), fir_kernel(c, x), stride=2, groups=c)
