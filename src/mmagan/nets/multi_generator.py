"""k generators behind one module (MAD-GAN): a batch of latents is split into k contiguous parts,
part j made by generator j, so every batch draws from every generator and the objective knows
which generator made each sample from its position alone (`generator_index`)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def part_sizes(n: int, k: int) -> list[int]:
    """How many of n samples each of k generators makes: torch.tensor_split's parts (the first
    n mod k get one more)."""
    return [n // k + (1 if j < n % k else 0) for j in range(k)]


def generator_index(n: int, k: int, device: torch.device | str = "cpu") -> Tensor:
    """(n,): the generator that made each sample of a batch of n."""
    sizes = torch.tensor(part_sizes(n, k), device=device)
    return torch.repeat_interleave(torch.arange(k, device=device), sizes, output_size=n)


class MultiGenerator(nn.Module):
    """k generators; with `share`, one trunk (every layer but the last) and k last layers, as the
    MAD-GAN paper shares parameters for images. Each generator's net must then offer
    `trunk_and_head()` (the MLP and DCGAN generators do)."""

    def __init__(self, generators: list[nn.Module], share: bool = False) -> None:
        super().__init__()
        self.latent_dim = generators[0].latent_dim
        self.num_generators = len(generators)
        if share:
            trunk, _ = generators[0].trunk_and_head()
            self.trunk = trunk
            self.heads = nn.ModuleList(g.trunk_and_head()[1] for g in generators)
        else:
            self.trunk = None
            self.heads = nn.ModuleList(generators)

    def sample_from(self, j: int, z: Tensor) -> Tensor:
        """Every latent of z through generator j alone."""
        return self.heads[j](self.trunk(z) if self.trunk is not None else z)

    def forward(self, z: Tensor) -> Tensor:
        h = self.trunk(z) if self.trunk is not None else z
        parts = torch.split(h, part_sizes(z.shape[0], self.num_generators))
        return torch.cat([head(part) for head, part in zip(self.heads, parts)])
