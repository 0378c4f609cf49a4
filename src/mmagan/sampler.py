"""A generator ready to sample: the object `load_generator` returns and every tool draws from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


def quantize(samples: Tensor) -> Tensor:
    """G's [-1, 1] output -> uint8 [0, 255] on its own device, rounded the way image files store it."""
    return samples.detach().float().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def to_uint8(samples: Tensor) -> Tensor:
    """`quantize`, on the CPU: for files and tools that read images from the host."""
    return quantize(samples).cpu()


def seeded_latents(n: int, latent_dim: int, seed: int) -> Tensor:
    """The n latents of `seed`, drawn on the CPU: the same on every device and machine."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, latent_dim, generator=g)


@contextmanager
def seeded_randomness(device: torch.device, seed: int) -> Iterator[None]:
    """Random draws inside (StyleGAN's per-pixel noise) come from `seed`; the caller's random
    stream is restored after, so seeding here never shifts anything drawn outside."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@dataclass
class Sampler:
    """G's weights in eval mode with what it takes to use them.

    `sample(n, seed)` gives the same images for the same seed wherever it runs: in training (sample
    snapshots), in mmagan-eval and in a notebook on a copied checkpoint. G's own random inputs
    (StyleGAN's noise with noise_mode=random) are drawn from a seed too: from `noise_seed` on every
    call, so that an inspection's images differ only where it wrote into G, and from the sample
    seed in `sample` and `map_chunks`.
    """

    net: nn.Module
    latent_dim: int
    sample_shape: tuple[int, ...]
    config: dict = field(default_factory=dict)
    iteration: int = 0
    ema: bool = False
    version: str = ""
    noise_seed: int = 0

    def __post_init__(self) -> None:
        self.net.eval().requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return next(iter(self.net.parameters())).device

    def to(self, device: str | torch.device) -> Sampler:
        """Move G to `device`; returns the sampler."""
        self.net.to(device)
        return self

    def latents(self, n: int, seed: int = 0) -> Tensor:
        """The n latents of `seed` (the same on every machine), on G's device."""
        return seeded_latents(n, self.latent_dim, seed).to(self.device)

    @torch.no_grad()
    def __call__(self, z: Tensor, **net_options) -> Tensor:
        """G(z) (with G's own options, e.g. StyleGAN's psi), its random inputs from `noise_seed`."""
        with seeded_randomness(self.device, self.noise_seed):
            return self.net(z.to(self.device), **net_options)

    @torch.no_grad()
    def map_chunks(
        self, chunks: Iterable[Tensor], seed: int, each: Callable[[Tensor], Tensor] = lambda x: x
    ) -> list[Tensor]:
        """`each`(G(chunk)) for the latent chunks in order, G's random inputs drawn in one stream
        from `seed`: the same seed and chunk sizes give the same images."""
        with seeded_randomness(self.device, seed):
            return [each(self.net(chunk.to(self.device))) for chunk in chunks]

    def sample(self, n: int, seed: int = 0, batch_size: int = 500) -> Tensor:
        """n samples (images in [-1, 1], or points) from the latents of `seed`."""
        return torch.cat(self.map_chunks(self.latents(n, seed).split(batch_size), seed))

    def describe(self) -> dict:
        """What the sampler is, as plain values (the `generator` block of an exported file)."""
        return {
            "sample_shape": list(self.sample_shape),
            "latent_dim": self.latent_dim,
            "iteration": self.iteration,
            "ema": self.ema,
            "version": self.version,
        }


def sample_in_eval_mode(net: nn.Module, z: Tensor) -> Tensor:
    """G(z) with batch norm in eval mode, restoring the mode after (snapshots during training)."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return net(z)
    finally:
        net.train(was_training)


def as_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """A sample shape as a tuple of ints (from a checkpoint's list)."""
    return tuple(int(s) for s in shape)
