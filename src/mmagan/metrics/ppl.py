"""Perceptual path length (Karras et al. 2019): how much the image changes, perceptually, along a
small step in latent space. An entangled latent space bends images through unrelated states between
two points, so its paths are long. Measured in Z (spherical interpolation) for every generator and
in W (linear interpolation) for style-based ones.

For each pair of latents and t ~ U(0, 1) ("full") or t = 0 ("end"), the images at t and t + epsilon
are compared with LPIPS and the distance scaled by 1 / epsilon^2. The published figure is the mean
after dropping values outside the 1st-99th percentiles. The noise inputs of a style-based G are
drawn anew for every batch and held fixed within it (as StyleGAN2's metric does), so that only the
latent moves within a pair; G's own const noise is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmagan.checks import Checks, int_at_least, number_in
from mmagan.errors import ConfigError
from mmagan.latent_paths import slerp_rows
from mmagan.nets.stylegan import is_style_based

SPACES = ("z", "w")
SAMPLINGS = ("full", "end")
Distance = Callable[[Tensor, Tensor], Tensor]
#: The PPL settings' checks, for `callbacks.ppl` (training) and `ppl` (mmagan-eval) alike.
PPL_CHECKS: Checks = {
    "spaces": (
        lambda v: len(v) >= 1 and all(s in SPACES for s in v) and len(set(v)) == len(v),
        f"a non-empty list of distinct names from {list(SPACES)}",
    ),
    "sampling": (lambda v: v in SAMPLINGS, f"one of {list(SAMPLINGS)}"),
    "num_samples": (int_at_least(2), "an integer >= 2"),
    "epsilon": (number_in(0, 1, lo_open=True, hi_open=True), "a number with 0 < epsilon < 1"),
    "crop": (lambda v: isinstance(v, bool), "true or false"),
    "batch_size": (int_at_least(1), "an integer >= 1"),
}


def available_spaces(generator: nn.Module) -> tuple[str, ...]:
    """The latent spaces PPL can walk in this G: z always, w for style-based generators."""
    return spaces_offered(is_style_based(generator))


def spaces_offered(style_based: bool) -> tuple[str, ...]:
    """z always, w where G is style-based (its net kind says so before G is built)."""
    return SPACES if style_based else ("z",)


def usable_spaces(generator: nn.Module, spaces: tuple[str, ...], key: str = "ppl.spaces") -> tuple[str, ...]:
    """The requested spaces this generator has (W only for style-based ones); none is an error."""
    return requested_and_offered(spaces, available_spaces(generator), key)


def requested_and_offered(spaces: tuple[str, ...], offered: tuple[str, ...], key: str) -> tuple[str, ...]:
    usable = tuple(s for s in spaces if s in offered)
    if not usable:
        raise ConfigError(
            f"{key}={list(spaces)} is invalid for this generator: it offers {list(offered)} "
            "(W needs net=stylegan)"
        )
    return usable


def crop_face(images: Tensor) -> Tensor:
    """StyleGAN's centre crop for faces: rows 3/8-7/8, columns 2/8-6/8 (the face, not the background)."""
    c = images.shape[2] // 8
    return images[:, :, c * 3 : c * 7, c * 2 : c * 6]


def _prepare(images: Tensor, crop: bool) -> Tensor:
    if crop:
        images = crop_face(images)
    factor = images.shape[2] // 256
    if factor > 1:  # LPIPS sees at most 256 px, as published
        images = F.avg_pool2d(images, factor)
    return images


def _from_z(generator: nn.Module, z: Tensor) -> Tensor:
    if is_style_based(generator):
        return generator.synthesize(generator.ws(z), noise_mode="const")
    return generator(z)


@torch.no_grad()
def path_lengths(
    generator: nn.Module,
    distance: Distance,
    num_samples: int,
    space: str = "w",
    sampling: str = "end",
    epsilon: float = 1e-4,
    crop: bool = False,
    batch_size: int = 100,
    seed: int = 0,
) -> Tensor:
    """The per-pair values distance(G(t), G(t + epsilon)) / epsilon^2, on the CPU as float64."""
    if space not in available_spaces(generator):
        raise ConfigError(
            f"PPL in {space!r} needs a style-based generator (net=stylegan); "
            f"this one offers {available_spaces(generator)}"
        )
    if sampling not in SAMPLINGS:
        raise ConfigError(f"ppl sampling={sampling!r} is invalid: must be one of {SAMPLINGS}")
    gen = torch.Generator().manual_seed(seed)
    values = []
    noise = [b for name, b in generator.named_buffers() if name.endswith("noise_const")]
    kept = [b.clone() for b in noise]
    try:
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            # StyleGAN2's metric: a new draw of the (const) noise for every batch, the same for both
            # ends of each pair, so that only the latent moves within a pair.
            for b in noise:
                b.copy_(torch.randn(b.shape, generator=gen).to(b))
            values.append(_batch_lengths(generator, distance, n, space, sampling, epsilon, crop, gen))
    finally:
        for b, original in zip(noise, kept):
            b.copy_(original)
    return torch.cat(values)


def _batch_lengths(
    generator: nn.Module,
    distance: Distance,
    n: int,
    space: str,
    sampling: str,
    epsilon: float,
    crop: bool,
    gen: torch.Generator,
) -> Tensor:
    param = next(generator.parameters())
    device, dtype = param.device, param.dtype
    a = torch.randn(n, generator.latent_dim, generator=gen, dtype=torch.float64)
    b = torch.randn(n, generator.latent_dim, generator=gen, dtype=torch.float64)
    t = (
        torch.rand(n, 1, generator=gen, dtype=torch.float64)
        if sampling == "full"
        else torch.zeros(n, 1, dtype=torch.float64)
    )
    # Interpolated in float64: a step of 1e-4 must not drown in float32 rounding of the latents.
    a, b, t = a.to(device), b.to(device), t.to(device)
    if space == "z":
        images = _from_z(generator, torch.cat([slerp_rows(a, b, t), slerp_rows(a, b, t + epsilon)]).to(dtype))
    else:
        wa, wb = generator.mapping(a.to(dtype)).double(), generator.mapping(b.to(dtype)).double()
        w = torch.cat([torch.lerp(wa, wb, t), torch.lerp(wa, wb, t + epsilon)]).to(dtype)
        images = generator.synthesize(w[:, None].expand(-1, generator.num_ws, -1), noise_mode="const")
    if images.dtype not in (torch.float32, torch.float64):  # bf16/fp16 nets: LPIPS in float32
        images = images.float()
    images = _prepare(images, crop)
    d = distance(images[:n], images[n:]).reshape(n).double().cpu()
    return d / epsilon**2


def filtered_mean(values: Tensor) -> float:
    """The mean of the values between the 1st and 99th percentiles (StyleGAN's rule for outliers)."""
    v = values.numpy()
    lo = np.percentile(v, 1, method="lower")
    hi = np.percentile(v, 99, method="higher")
    return float(v[(v >= lo) & (v <= hi)].mean())


def lpips_distance(model: nn.Module) -> Distance:
    """Per-pair LPIPS of images in [-1, 1] (the lpips package's own forward)."""
    return lambda x, y: model(x, y).flatten()


@dataclass(frozen=True)
class PPLSettings:
    """How PPL is measured (`callbacks.ppl` in training, `ppl` in mmagan-eval): the spaces, t's
    sampling, pairs of latents, the step epsilon, the face crop, the batch of pairs."""

    spaces: tuple[str, ...] = SPACES
    sampling: str = "end"
    num_samples: int = 1000
    epsilon: float = 1e-4
    crop: bool = False
    batch_size: int = 100

    @classmethod
    def from_config(cls, cfg) -> PPLSettings:
        """From a config block that may hold other keys too (enabled, every_n_validations, ...)."""
        return cls(
            tuple(cfg.spaces), str(cfg.sampling), int(cfg.num_samples), float(cfg.epsilon), bool(cfg.crop),
            int(cfg.batch_size),
        )  # fmt: skip

    def describe(self) -> str:
        """The protocol line written beside the figures."""
        return (
            f"{self.sampling} points, epsilon {self.epsilon:g}, {self.num_samples} pairs, lpips alex v0.1, "
            f"1st-99th percentile mean{', face crop' if self.crop else ''}"
        )

    def measure(self, generator: nn.Module, distance: Distance, seed: int = 0) -> dict[str, float]:
        """{ppl_<space>_<sampling>: filtered mean} of `generator` (eval mode) under these settings."""
        return perceptual_path_length(
            generator, distance, self.num_samples, self.spaces, self.sampling, self.epsilon, self.crop,
            self.batch_size, seed,
        )  # fmt: skip


def perceptual_path_length(
    generator: nn.Module,
    distance: Distance,
    num_samples: int,
    spaces: tuple[str, ...] = SPACES,
    sampling: str = "end",
    epsilon: float = 1e-4,
    crop: bool = False,
    batch_size: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """{ppl_<space>_<sampling>: filtered mean} for each of `spaces` the generator has (W only for
    style-based generators). The generator should be in eval mode."""
    out = {}
    for space in usable_spaces(generator, spaces):
        values = path_lengths(
            generator, distance, num_samples, space, sampling, epsilon, crop, batch_size, seed
        )
        out[f"ppl_{space}_{sampling}"] = filtered_mean(values)
    return out
