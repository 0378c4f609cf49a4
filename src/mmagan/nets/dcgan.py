"""DCGAN generator and discriminator for square images of 32 to 256 pixels."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import Tensor, nn

from mmagan.checks import Checks, int_at_least, one_of
from mmagan.resolutions import RESOLUTIONS

D_NORMS = ("batch", "layer", "none")
#: net.<key> checks of net=dcgan (the sample shape and d_norm with a gradient penalty cross keys:
#: config/validation.py).
DCGAN_CHECKS: Checks = {
    **{key: (int_at_least(1), "an integer >= 1") for key in ("g_width", "d_width", "max_mult")},
    "d_norm": (one_of(("auto",) + D_NORMS), f"one of {['auto', *D_NORMS]}"),
}


def _levels(resolution: int) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"DCGAN nets support resolutions {RESOLUTIONS}, got {resolution}")
    return int(math.log2(resolution)) - 2  # number of 2x resamplings between 4x4 and the image


class DCGANGenerator(nn.Module):
    """z -> 4x4 -> ... -> resolution, halving channels at each transposed convolution."""

    def __init__(
        self,
        latent_dim: int = 100,
        resolution: int = 32,
        channels: int = 3,
        width: int = 64,
        max_mult: int = 8,
    ) -> None:
        super().__init__()
        n = _levels(resolution)
        ch = [width * min(2**i, max_mult) for i in reversed(range(n))]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, ch[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(ch[:-1], ch[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(ch[-1], channels, 4, 2, 1), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.main(z.view(z.shape[0], self.latent_dim, 1, 1))

    def trunk_and_head(self) -> tuple[nn.Module, nn.Module]:
        """Every layer but the last transposed convolution, and that layer with its tanh (MAD-GAN's
        shared generators)."""
        return nn.Sequential(nn.Unflatten(1, (self.latent_dim, 1, 1)), *self.main[:-2]), self.main[-2:]


def _norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # per-sample normalisation over (C, H, W); safe with a gradient penalty
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"d_norm must be one of {D_NORMS}, got {kind!r}")


class DCGANDiscriminator(nn.Module):
    """Strided convolutions down to 4x4, an optional minibatch layer, then a linear layer with
    `out_features` logits (K heads)."""

    def __init__(
        self,
        resolution: int = 32,
        channels: int = 3,
        width: int = 64,
        out_features: int = 1,
        norm: str = "batch",
        max_mult: int = 8,
        minibatch: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        n = _levels(resolution)
        ch = [width * min(2**i, max_mult) for i in range(n)]
        layers: list[nn.Module] = [nn.Conv2d(channels, ch[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(ch[:-1], ch[1:]):
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none"),
                _norm2d(norm, c_out),
                nn.LeakyReLU(0.2, True),
            ]
        self.features = nn.Sequential(*layers)
        # On the flattened 4x4 features (nets.minibatch); an identity without one.
        self.minibatch = minibatch(ch[-1] * 4 * 4) if minibatch is not None else nn.Identity()
        self.head = nn.Linear(getattr(self.minibatch, "out_features", ch[-1] * 4 * 4), out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.minibatch(self.features(x).flatten(1)))
