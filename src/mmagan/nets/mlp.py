"""MLP nets for 2-D data; the defaults are PacGAN's (G: 4 x 400 with batch norm; D: 3 maxout layers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from mmagan.checks import Checks, int_at_least, one_of
from mmagan.nets.minibatch import D_MINIBATCH

_POSITIVE_INTS = (
    lambda v: len(v) >= 1 and all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in v),
    "a non-empty list of integers >= 1",
)
#: net.<key> checks of net=mlp.
MLP_CHECKS: Checks = {
    "g_hidden": _POSITIVE_INTS,
    "d_hidden": _POSITIVE_INTS,
    "g_batch_norm": (lambda v: isinstance(v, bool), "true or false"),
    "d_maxout_pieces": (int_at_least(1), "an integer >= 1"),
}
#: net.<key> checks of D's minibatch layer (net=mlp and net=dcgan).
MINIBATCH_CHECKS: Checks = {
    "d_minibatch": (one_of(D_MINIBATCH), f"one of {list(D_MINIBATCH)}"),
    "d_minibatch_kernels": (int_at_least(1), "an integer >= 1"),
    "d_minibatch_kernel_dim": (int_at_least(1), "an integer >= 1"),
}


class MLPGenerator(nn.Module):
    """z -> 2-D point: ReLU layers of `hidden` widths (batch norm optional), linear output."""

    def __init__(
        self,
        latent_dim: int = 2,
        out_dim: int = 2,
        hidden: Sequence[int] = (400,) * 4,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = latent_dim
        for h in hidden:
            layers += [nn.Linear(d, h)] + ([nn.BatchNorm1d(h)] if batch_norm else []) + [nn.ReLU(True)]
            d = h
        layers.append(nn.Linear(d, out_dim))
        self.main = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.main(z)

    def trunk_and_head(self) -> tuple[nn.Module, nn.Module]:
        """Every layer but the last, and the last (MAD-GAN's shared generators)."""
        return self.main[:-1], self.main[-1]


class Maxout(nn.Module):
    """max over `pieces` affine maps (Goodfellow et al. 2013); torch has no maxout layer."""

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features * pieces)
        self.out_features, self.pieces = out_features, pieces

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(x.shape[0], self.out_features, self.pieces).amax(dim=2)


class MLPDiscriminator(nn.Module):
    """Maxout layers (plain LeakyReLU layers when pieces == 1), an optional minibatch layer, then a
    linear layer with K logits."""

    def __init__(
        self,
        in_dim: int = 2,
        hidden: Sequence[int] = (200,) * 3,
        pieces: int = 5,
        out_features: int = 1,
        minibatch: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers += [Maxout(d, h, pieces)] if pieces > 1 else [nn.Linear(d, h), nn.LeakyReLU(0.2, True)]
            d = h
        self.features = nn.Sequential(*layers)
        # Built for the last hidden width (nets.minibatch); an identity without one.
        self.minibatch = minibatch(d) if minibatch is not None else nn.Identity()
        self.head = nn.Linear(getattr(self.minibatch, "out_features", d), out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.minibatch(self.features(x)))
