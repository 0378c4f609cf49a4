"""Net registry: builds G and D for a data shape from the `net` config group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from mmagan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from mmagan.nets.init import dcgan_init
from mmagan.nets.mlp import MLPDiscriminator, MLPGenerator
from mmagan.nets.residual_d import ResidualDiscriminator
from mmagan.nets.stylegan import StyleGenerator

NETS = ("dcgan", "mlp", "stylegan")
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
    elif cfg.name == "stylegan":
        return _stylegan(cfg, sample_shape, num_heads, packing)
    else:
        raise KeyError(f"unknown net {cfg.name!r}; known: {NETS}")
    if cfg.init == "dcgan":
        dcgan_init(g)
        dcgan_init(d)
    return g, d


def nets_for(cfg: Any, sample_shape: Sequence[int], objective) -> tuple[nn.Module, nn.Module]:
    """G and D as an objective needs them (its heads, packing, and whether D may batch-normalise):
    the one way training, checkpoints, export and inspection build the nets."""
    return build_nets(cfg, sample_shape, objective.num_heads, objective.d_batch_norm_ok, objective.packing)


def _stylegan(
    cfg: Any, sample_shape: Sequence[int], num_heads: int, packing: int
) -> tuple[nn.Module, nn.Module]:
    """Style-based G and residual D; their equalised layers initialise themselves (no `init`)."""
    channels, resolution = sample_shape[0], sample_shape[-1]
    g = StyleGenerator(
        latent_dim=cfg.latent_dim,
        resolution=resolution,
        channels=channels,
        w_dim=cfg.w_dim,
        mapping_depth=cfg.mapping_depth,
        mapping_lr_mul=cfg.mapping_lr_mul,
        channel_base=cfg.channel_base,
        channel_max=cfg.channel_max,
        style_mode=cfg.style_mode,
        resample=cfg.get("resample", "auto"),  # checkpoints from before the option: auto
        mixing_prob=cfg.mixing_prob,
        w_avg_beta=cfg.w_avg_beta,
        noise_mode=cfg.noise_mode,
        truncation_psi=cfg.truncation_psi,
        truncation_cutoff=cfg.truncation_cutoff,
    )
    d = ResidualDiscriminator(
        resolution,
        channels * packing,
        num_heads,
        cfg.d_channel_base,
        cfg.d_channel_max,
        cfg.mbstd_group,
        g.resample,
    )
    return g, d
