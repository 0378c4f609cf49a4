"""Net registry: builds G and D for a data shape from the `net` config group. A new net is a
builder registered with @register_net("<name>", ...) plus conf/net/<name>.yaml."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from mmagan.checks import Checks, one_of
from mmagan.errors import ConfigError
from mmagan.nets.dcgan import DCGAN_CHECKS, DCGANDiscriminator, DCGANGenerator
from mmagan.nets.init import dcgan_init
from mmagan.nets.minibatch import minibatch_layer
from mmagan.nets.mlp import MINIBATCH_CHECKS, MLP_CHECKS, MLPDiscriminator, MLPGenerator
from mmagan.nets.multi_generator import MultiGenerator
from mmagan.nets.residual_d import ResidualDiscriminator
from mmagan.nets.stylegan import RESOLUTIONS as STYLE_RESOLUTIONS
from mmagan.nets.stylegan import STYLEGAN_CHECKS, StyleGenerator, check_truncation_cutoff
from mmagan.registry import Registry
from mmagan.resolutions import RESOLUTIONS

INITS = ("dcgan", "default")
#: (net config, sample shape, D's heads, whether D may batch-normalise, packing) -> (G, D).
NetBuilder = Callable[[Any, Sequence[int], int, bool, int], tuple[nn.Module, nn.Module]]


@dataclass(frozen=True)
class NetKind:
    """A net family: its builder, its own parameters' checks (net.<key>), the samples it takes
    (`fits`, described by `needs`), and its keys where it refuses others (None: not checked)."""

    build: NetBuilder
    checks: Checks
    fits: Callable[[tuple[int, ...]], bool]
    needs: str
    keys: frozenset[str] | None = None
    #: what to suggest for samples it does not fit
    hint: str = "for 2-D data use net=mlp"
    #: whether G maps z to intermediate latents w (path-length regularisation, truncation)
    style_based: bool = False
    #: the checks that need the data's sample shape: (net config, sample shape) -> raise ConfigError
    shape_checks: Callable[[Any, tuple[int, ...]], None] | None = None


#: net.name -> its kind.
NETS: Registry[NetKind] = Registry("net.name")


def register_net(name: str, checks: Checks, fits, needs: str, keys=None, **capabilities):
    """Make a builder selectable as net.name=<name>, with what validation needs to know of it
    (NetKind's fields)."""
    return lambda build: NETS.add(name, NetKind(build, checks, fits, needs, keys, **capabilities)).build


def build_nets(
    cfg: Any, sample_shape: Sequence[int], num_heads: int, d_batch_norm_ok: bool = True, packing: int = 1
) -> tuple[nn.Module, nn.Module]:
    """G and D for samples of `sample_shape`; D has `num_heads` outputs and takes `packing` samples
    at once (PacGAN)."""
    return NETS.pick(cfg.name).build(cfg, sample_shape, num_heads, d_batch_norm_ok, packing)


def _initialised(cfg: Any, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
    if cfg.init == "dcgan":
        dcgan_init(g)
        dcgan_init(d)
    return g, d


def _square_image(resolutions: tuple[int, ...]):
    return lambda shape: len(shape) == 3 and shape[1] == shape[2] and shape[1] in resolutions


INIT_CHECK = {"init": (one_of(INITS), f"one of {list(INITS)}")}


def _minibatch(cfg: Any):
    """net.d_minibatch as a layer factory for D's last hidden width; None for none (and for
    checkpoints from before the option)."""
    kind = cfg.get("d_minibatch", "none")
    if kind == "none":
        return None
    kernels, dim = cfg.get("d_minibatch_kernels", 100), cfg.get("d_minibatch_kernel_dim", 5)
    return lambda width: minibatch_layer(kind, width, kernels, dim)


@register_net(
    "dcgan",
    {**DCGAN_CHECKS, **MINIBATCH_CHECKS, **INIT_CHECK},
    _square_image(RESOLUTIONS),
    f"square images of resolution {RESOLUTIONS}",
)
def _dcgan(cfg: Any, sample_shape: Sequence[int], num_heads: int, d_batch_norm_ok: bool, packing: int):
    """`d_norm: auto` is batch norm, or none where the objective's D regulariser rules batch norm
    out (a gradient penalty)."""
    channels, resolution = sample_shape[0], sample_shape[-1]
    d_norm = cfg.d_norm if cfg.d_norm != "auto" else ("batch" if d_batch_norm_ok else "none")
    g = DCGANGenerator(cfg.latent_dim, resolution, channels, cfg.g_width, cfg.max_mult)
    d = DCGANDiscriminator(
        resolution, channels * packing, cfg.d_width, num_heads, d_norm, cfg.max_mult, _minibatch(cfg)
    )
    return _initialised(cfg, g, d)


@register_net(
    "mlp",
    {**MLP_CHECKS, **MINIBATCH_CHECKS, **INIT_CHECK},
    lambda shape: len(shape) == 1,
    "vector data",
    hint="for images use net=dcgan",
)
def _mlp(cfg: Any, sample_shape: Sequence[int], num_heads: int, d_batch_norm_ok: bool, packing: int):
    dim = sample_shape[0]
    g = MLPGenerator(cfg.latent_dim, dim, list(cfg.g_hidden), cfg.g_batch_norm)
    d = MLPDiscriminator(dim * packing, list(cfg.d_hidden), cfg.d_maxout_pieces, num_heads, _minibatch(cfg))
    return _initialised(cfg, g, d)


def nets_for(cfg: Any, sample_shape: Sequence[int], objective) -> tuple[nn.Module, nn.Module]:
    """G and D as an objective needs them (its heads, packing, and whether D may batch-normalise):
    the one way training, checkpoints, export and inspection build the nets."""
    g, d = build_nets(cfg, sample_shape, objective.num_heads, objective.d_batch_norm_ok, objective.packing)
    g, d = objective.wrap_nets(g, d, cfg, tuple(sample_shape))
    if objective.num_generators > 1:
        more = [build_nets(cfg, sample_shape, 1, True, 1)[0] for _ in range(objective.num_generators - 1)]
        if objective.share_generators and not hasattr(g, "trunk_and_head"):
            raise ConfigError(
                f"model.objective.share=true needs a generator that splits into a trunk and a last layer; "
                f"net={cfg.name} does not: set model.objective.share=false"
            )
        g = MultiGenerator([g, *more], share=objective.share_generators)
    return g, d


@register_net(
    "stylegan",
    STYLEGAN_CHECKS,
    _square_image(STYLE_RESOLUTIONS),
    f"square images of resolution {STYLE_RESOLUTIONS}",
    frozenset(STYLEGAN_CHECKS) | {"name", "latent_dim"},
    style_based=True,
    shape_checks=check_truncation_cutoff,
)
def _stylegan(
    cfg: Any, sample_shape: Sequence[int], num_heads: int, d_batch_norm_ok: bool, packing: int
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
