"""Net registry: builds G and D for a data shape from the `net` config group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from mmagan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from mmagan.nets.init import dcgan_init
from mmagan.nets.mlp import MLPDiscriminator, MLPGenerator

NETS = ("dcgan", "mlp")
INITS = ("dcgan", "default")


def build_nets(
    cfg: Any, sample_shape: Sequence[int], num_heads: int, d_batch_norm_ok: bool = True, packing: int = 1
) -> tuple[nn.Module, nn.Module]:
    """G and D for samples of `sample_shape`; D has `num_heads` outputs and takes `packing` samples
    at once (PacGAN). `d_norm: auto` is batch norm, or none where the objective's D regulariser
    rules batch norm out (a gradient penalty)."""
    if cfg.name == "dcgan":
        channels, resolution = sample_shape[0], sample_shape[-1]
        d_norm = cfg.d_norm if cfg.d_norm != "auto" else ("batch" if d_batch_norm_ok else "none")
        g = DCGANGenerator(cfg.latent_dim, resolution, channels, cfg.g_width, cfg.max_mult)
        d = DCGANDiscriminator(resolution, channels * packing, cfg.d_width, num_heads, d_norm, cfg.max_mult)
    elif cfg.name == "mlp":
        dim = sample_shape[0]
        g = MLPGenerator(cfg.latent_dim, dim, list(cfg.g_hidden), cfg.g_batch_norm)
        d = MLPDiscriminator(dim * packing, list(cfg.d_hidden), cfg.d_maxout_pieces, num_heads)
    else:
        raise KeyError(f"unknown net {cfg.name!r}; known: {NETS}")
    if cfg.init == "dcgan":
        dcgan_init(g)
        dcgan_init(d)
    return g, d
