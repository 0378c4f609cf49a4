"""A style-based generator (Karras et al. 2019), with StyleGAN2's weight demodulation as an option.

z -> mapping net -> w; the synthesis net starts from a learned constant 4x4 tensor and doubles the
resolution per block. Each block above 4x4 has two styled layers, each fed its own copy of w (so that
styles can be mixed per layer), with per-pixel noise scaled per channel. At 4x4, StyleGAN (AdaIN)
styles the constant itself and then one conv; StyleGAN2 (modulated) has one styled conv. Every block
adds its toRGB output to the upsampled image of the blocks below (StyleGAN2's skip outputs); in
modulated mode a toRGB takes the w of the next block's first layer, as in the official code.
Resolution is fixed at build time: no progressive growing (see the README).

The generator's `forward(z)` is all the training step and the metrics call. In training mode it
tracks w_avg and mixes styles between two latents with probability `mixing_prob`, both on the
device (no host reads). In eval mode it applies the configured truncation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmagan.checks import Checks, _is_int, check, int_at_least, number_in, one_of
from mmagan.errors import ConfigError
from mmagan.nets.equalized import EqualConv2d, EqualLinear, lrelu
from mmagan.nets.resample import RESAMPLES, upsample2d

STYLE_MODES = ("adain", "modulated")
NOISE_MODES = ("random", "const", "none")
RESOLUTIONS = (32, 64, 128, 256)
#: net.<key> checks of net=stylegan (truncation_cutoff depends on the resolution: config/validation.py).
STYLEGAN_CHECKS: Checks = {
    **{
        key: (int_at_least(1), "an integer >= 1")
        for key in (
            "w_dim",
            "mapping_depth",
            "channel_base",
            "channel_max",
            "d_channel_base",
            "d_channel_max",
        )
    },
    "mapping_lr_mul": (number_in(0, 1, lo_open=True), "a number in (0, 1]"),
    "style_mode": (one_of(STYLE_MODES), f"one of {list(STYLE_MODES)}"),
    "resample": (one_of(("auto", *RESAMPLES)), f"one of {['auto', *RESAMPLES]}"),
    "noise_mode": (one_of(NOISE_MODES), f"one of {list(NOISE_MODES)}"),
    "mixing_prob": (number_in(0, 1), "a number in [0, 1]"),
    "w_avg_beta": (number_in(0, 1, hi_open=True), "a number in [0, 1)"),
    "truncation_psi": (number_in(-1, 1), "a number in [-1, 1] (1: none)"),
    "truncation_cutoff": (lambda v: v is None or (isinstance(v, int) and v >= 1), "null or an integer >= 1"),
    "mbstd_group": (int_at_least(0), "an integer >= 0 (0: no minibatch std layer)"),
}


def is_style_based(generator: nn.Module) -> bool:
    """Has a mapping net and a synthesis from w: W-space tools (PPL in W, style figures) apply."""
    return hasattr(generator, "mapping") and hasattr(generator, "synthesize")


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at a resolution: channel_base / resolution, capped (StyleGAN2's rule)."""
    return max(1, min(channel_base // resolution, channel_max))


def num_style_layers(resolution: int) -> int:
    """The ws a generator of this resolution takes: 8 at 32 px, 14 at 256 px (in both modes)."""
    return 2 * (int(math.log2(resolution)) - 1)


def check_truncation_cutoff(cfg, sample_shape: tuple[int, ...]) -> None:
    """net.truncation_cutoff against the styled layers at the data's resolution."""
    layers = num_style_layers(sample_shape[1])
    check(
        cfg,
        "net.truncation_cutoff",
        lambda v: v is None or (_is_int(v) and 1 <= v <= layers),
        f"null or an integer in [1, {layers}] (styled layers at {sample_shape[1]} px)",
    )


def ws_resolutions(resolution: int, mode: str = "adain") -> list[int]:
    """The resolution each w (by index) styles. AdaIN: two per resolution from 4x4. Modulated
    (StyleGAN2): one at 4x4, two per resolution above it, and a last one for the final toRGB."""
    n = num_style_layers(resolution)
    if mode == "modulated":
        return [min(resolution, 4 * 2 ** ((i + 1) // 2)) for i in range(n)]
    return [4 * 2 ** (i // 2) for i in range(n)]


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Pixel norm on z: each latent scaled to unit mean square."""
    return x * (x.square().mean(1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z -> w: `depth` equalised linear layers whose learning rate is scaled by `lr_mul` (0.01 in
    StyleGAN), after scaling z to unit second moment."""

    def __init__(self, z_dim: int, w_dim: int, depth: int, lr_mul: float = 0.01) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * depth
        self.layers = nn.Sequential(
            *[EqualLinear(a, b, lr_mul=lr_mul, act=True) for a, b in zip(dims, dims[1:])]
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.layers(normalize_2nd_moment(z))


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool) -> Tensor:
    """StyleGAN2: scale the weights per sample and input channel by the style, optionally
    renormalise each output channel, and run all samples as one grouped convolution."""
    n, c_in, h, w = x.shape
    wgt = weight[None] * styles[:, None, :, None, None]  # (N, out, in, k, k)
    if demodulate:
        wgt = wgt * (wgt.square().sum([2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    out = F.conv2d(
        x.reshape(1, n * c_in, h, w),
        wgt.reshape(-1, c_in, *weight.shape[2:]),
        padding=weight.shape[-1] // 2,
        groups=n,
    )
    return out.reshape(n, -1, h, w)


class StyledLayer(nn.Module):
    """One styled layer: [upsample] [3x3 conv] -> noise * B -> bias -> lrelu, with the style of w
    applied by AdaIN after the activation, or by modulating the convolution's weights."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        w_dim: int,
        resolution: int,
        mode: str,
        up: bool = False,
        conv: bool = True,
        resample: str = "bilinear",
    ) -> None:
        super().__init__()
        self.mode, self.up, self.resolution, self.resample = mode, up, resolution, resample
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 3, 3)) if conv else None
        self.weight_gain = 1 / math.sqrt(c_in * 9)
        if mode == "modulated":
            self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)  # per input channel scale
        else:
            self.affine = EqualLinear(w_dim, 2 * c_out)  # per channel (scale - 1, bias) of AdaIN
        self.noise_strength = nn.Parameter(torch.zeros(1, c_out, 1, 1))  # "B", per channel
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.bias = nn.Parameter(torch.zeros(1, c_out, 1, 1))

    def forward(self, x: Tensor, w: Tensor, noise_mode: str) -> Tensor:
        if self.up:
            x = upsample2d(x, self.resample)
        if self.mode == "modulated":
            x = modulated_conv2d(x, self.weight * self.weight_gain, self.affine(w), demodulate=True)
        elif self.weight is not None:
            x = F.conv2d(x, self.weight * self.weight_gain, padding=1)
        if noise_mode == "random":
            x = (
                x
                + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
                * self.noise_strength
            )
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength
        x = lrelu(x + self.bias)
        if self.mode == "adain":
            scale, shift = self.affine(w)[:, :, None, None].chunk(2, dim=1)
            x = F.instance_norm(x) * (scale + 1) + shift
        return x


class ToRGB(nn.Module):
    """1x1 convolution to image channels; modulated (not demodulated) by w in StyleGAN2's mode."""

    def __init__(self, c_in: int, channels: int, w_dim: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        if mode == "modulated":
            self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)
            self.weight = nn.Parameter(torch.randn(channels, c_in, 1, 1))
            self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        else:
            self.conv = EqualConv2d(c_in, channels, 1)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.mode != "modulated":
            return self.conv(x)
        styles = self.affine(w) / math.sqrt(self.weight.shape[1])
        return modulated_conv2d(x, self.weight, styles, demodulate=False) + self.bias


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> image; styled layer i takes ws[:, layer_ws[i]], the toRGB of block
    b ws[:, rgb_ws[b]]."""

    def __init__(
        self,
        w_dim: int,
        resolution: int,
        channels: int,
        channel_base: int,
        channel_max: int,
        mode: str,
        resample: str = "bilinear",
    ) -> None:
        super().__init__()
        self.resolution, self.resample = resolution, resample
        self.num_ws = num_style_layers(resolution)
        res = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
        ch = {r: channels_at(r, channel_base, channel_max) for r in res}
        self.const = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        layers, to_rgb, self.blocks, self.layer_ws, self.rgb_ws = [], [], [], [], []
        for r in res:
            block = []
            if r == 4 and mode == "adain":  # StyleGAN: the constant styled as it is, then a conv
                block += [StyledLayer(ch[4], ch[4], w_dim, 4, mode, conv=False)]
            if r > 4:
                block += [StyledLayer(ch[r // 2], ch[r], w_dim, r, mode, up=True, resample=resample)]
            block += [StyledLayer(ch[r], ch[r], w_dim, r, mode)]
            self.blocks.append(list(range(len(layers), len(layers) + len(block))))
            layers += block
            to_rgb.append(ToRGB(ch[r], channels, w_dim, mode))
        self.layer_ws = list(range(len(layers)))
        # AdaIN: a block's toRGB takes its second w; modulated: the next w (StyleGAN2's code).
        self.rgb_ws = [b[-1] + (mode == "modulated") for b in self.blocks]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = nn.ModuleList(to_rgb)
        self.rgb_scale = 1 / math.sqrt(len(to_rgb))

    def forward(self, ws: Tensor, noise_mode: str = "random") -> Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        img = None
        for block, to_rgb in enumerate(self.to_rgb):
            for i in self.blocks[block]:
                x = self.layers[i](x, ws[:, self.layer_ws[i]], noise_mode)
            y = to_rgb(x, ws[:, self.rgb_ws[block]])
            img = y if img is None else upsample2d(img, self.resample) + y
        # The blocks' toRGB outputs are roughly independent at initialisation: the scale keeps their
        # sum's variance that of one, so the output tanh starts out of saturation at any resolution.
        return img * self.rgb_scale


class StyleGenerator(nn.Module):
    """z -> image in [-1, 1] (tanh on the summed toRGB outputs, the framework's sample range)."""

    def __init__(
        self,
        latent_dim: int = 512,
        resolution: int = 32,
        channels: int = 3,
        w_dim: int = 512,
        mapping_depth: int = 8,
        mapping_lr_mul: float = 0.01,
        channel_base: int = 16384,
        channel_max: int = 512,
        style_mode: str = "adain",
        resample: str = "auto",
        mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        noise_mode: str = "random",
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> None:
        super().__init__()
        if style_mode not in STYLE_MODES:
            raise ConfigError(f"net.style_mode={style_mode!r} is invalid: must be one of {STYLE_MODES}")
        if resolution not in RESOLUTIONS:
            raise ConfigError(f"net=stylegan supports resolutions {RESOLUTIONS}, got {resolution}")
        self.latent_dim, self.w_dim, self.style_mode = latent_dim, w_dim, style_mode
        self.resample = resolve_resample(resample, style_mode)
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_depth, mapping_lr_mul)
        self.synthesis = SynthesisNetwork(
            w_dim, resolution, channels, channel_base, channel_max, style_mode, self.resample
        )
        self.num_ws = self.synthesis.num_ws
        self.mixing_prob, self.w_avg_beta = mixing_prob, w_avg_beta
        self.noise_mode = noise_mode
        self.truncation_psi, self.truncation_cutoff = truncation_psi, truncation_cutoff
        self.register_buffer("w_avg", torch.zeros(w_dim))
        # How many training batches w_avg has seen: truncation needs at least one.
        self.register_buffer("w_avg_updates", torch.zeros((), dtype=torch.long))

    def truncate(self, w: Tensor, psi: float, cutoff: int | None = None) -> Tensor:
        """ws (N, num_ws, w_dim) pulled towards w_avg by psi, in the layers below `cutoff` (all: None)."""
        if psi == 1:
            return w
        if int(self.w_avg_updates) == 0:
            raise ConfigError(
                f"truncation psi={psi} needs w_avg, which is tracked during training; "
                "this generator has not been trained yet (use psi=1)"
            )
        layers = torch.arange(self.num_ws, device=w.device)[None, :, None]
        keep = layers >= (self.num_ws if cutoff is None else cutoff)
        return torch.where(keep, w, self.w_avg.to(w.dtype).lerp(w, psi))  # w is bf16 under autocast

    def ws(self, z: Tensor, psi: float = 1.0, cutoff: int | None = None) -> Tensor:
        """z -> one w per styled layer (N, num_ws, w_dim), truncated by psi."""
        w = self.mapping(z)[:, None].expand(-1, self.num_ws, -1)
        return self.truncate(w, psi, cutoff)

    def forward(
        self, z: Tensor, psi: float | None = None, cutoff: int | None = None, noise_mode: str | None = None
    ) -> Tensor:
        noise_mode = noise_mode or self.noise_mode
        if not self.training:
            psi = self.truncation_psi if psi is None else psi
            cutoff = self.truncation_cutoff if cutoff is None else cutoff
            return self.synthesize(self.ws(z, psi, cutoff), noise_mode)
        w = self.mapping(z)
        with torch.no_grad():
            self.w_avg.lerp_(w.detach().mean(0).to(self.w_avg.dtype), 1 - self.w_avg_beta)
            self.w_avg_updates += 1
        return self.synthesize(self._mixed(z, w), noise_mode)

    def _mixed(self, z: Tensor, w: Tensor) -> Tensor:
        ws = w[:, None].expand(-1, self.num_ws, -1)
        if self.mixing_prob > 0:
            ws = self.mix_styles(ws, self.mapping(torch.randn_like(z)))
        return ws

    def training_ws(self, z: Tensor) -> Tensor:
        """The ws training would synthesise from z (style mixing included), without touching w_avg:
        the path-length regulariser differentiates the image with respect to them."""
        return self._mixed(z, self.mapping(z))

    def mix(self, ws: Tensor, ws2: Tensor, crossover: int | Tensor) -> Tensor:
        """Styles of ws below layer `crossover`, of ws2 from it on (0: all of ws2)."""
        layers = torch.arange(self.num_ws, device=ws.device)[None, :, None]
        return torch.where(layers < crossover, ws, ws2)

    def mix_styles(self, ws: Tensor, w2: Tensor) -> Tensor:
        """Style-mixing regularisation: with probability mixing_prob the layers from a random
        crossover (1 .. num_ws - 1) on take a second latent's w. Drawn on the device: no host read."""
        n = self.num_ws
        crossover = torch.randint(1, n, (), device=ws.device)
        mixing = torch.rand((), device=ws.device) < self.mixing_prob
        crossover = torch.where(mixing, crossover, torch.full_like(crossover, n))
        return self.mix(ws, w2[:, None].expand(-1, n, -1), crossover)

    def synthesize(self, ws: Tensor, noise_mode: str | None = None) -> Tensor:
        """Images in [-1, 1] from per-layer styles ws (N, num_ws, w_dim); `noise_mode` overrides G's
        (random, const, none) for this call: style mixing and painting call it with chosen ws."""
        return torch.tanh(self.synthesis(ws, noise_mode or self.noise_mode))


def generator_protocol(generator: nn.Module) -> dict:
    """What about G decides whether its numbers compare with published StyleGAN ones: the style
    mode, the resampling filters and the truncation; DCGAN-style nets have none of these."""
    if not is_style_based(generator):
        return {"generator": type(generator).__name__, "resampling": "n/a", "truncation_psi": None}
    return {
        "generator": f"stylegan ({generator.style_mode})",
        "resampling": generator.resample,
        "truncation_psi": generator.truncation_psi,
        "truncation_cutoff": generator.truncation_cutoff,
    }


def resolve_resample(resample: str, style_mode: str) -> str:
    """`auto`: StyleGAN2's FIR filters with its modulated convolutions, bilinear with AdaIN."""
    if resample == "auto":
        return "filtered" if style_mode == "modulated" else "bilinear"
    return resample


def style_blocks(resolution: int, mode: str = "adain") -> dict[str, tuple[int, int]]:
    """w index ranges [start, stop) of the coarse, middle and fine styles, by the resolution each w
    styles (ws_resolutions). The paper's split (4-8, 16-32, 64 px and up) where the generator
    reaches 64 px; below that the resolutions are split in three (32 px: 4, 8-16, 32)."""
    coarse_max, middle_max = (8, 32) if resolution >= 64 else (4, resolution // 2)
    res = ws_resolutions(resolution, mode)
    a = sum(r <= coarse_max for r in res)
    b = sum(r <= middle_max for r in res)
    return {"coarse": (0, a), "middle": (a, b), "fine": (b, len(res))}
