"""StyleGAN's figures on a trained style-based generator: style mixing, truncation and noise.

Each returns the table of images the PNG shows; `write_style_figures` draws all three (at the end
of training into <run>/plots, and `mmagan-inspect style-mixing|truncation|noise` on a checkpoint).
"""

from __future__ import annotations

from pathlib import Path

import torch

from mmagan.errors import InspectError
from mmagan.nets.stylegan import is_style_based, style_blocks
from mmagan.plots import image_table
from mmagan.sampler import Sampler, seeded_randomness

TRUNCATION_PSIS = (-1.0, -0.5, 0.0, 0.5, 0.7, 1.0)


def style_net(g: Sampler):
    """The style-based G inside a sampler, or a one-line error for other generators."""
    if not is_style_based(g.net):
        raise InspectError("style figures need a style-based generator (net=stylegan)")
    return g.net


@torch.no_grad()
def style_mixing(g: Sampler, rows: int = 3, cols: int = 4, seed: int = 0, psi: float = 1.0):
    """(images (1 + 3 rows, 1 + cols, C, H, W), row labels, column labels) in the paper's layout
    (StyleGAN, Fig. 3): sources A along the top, sources B down the side, and in each of the coarse,
    middle and fine row blocks the image of A's column with B's row's styles at those layers (the
    rest from A). The noise is held fixed, so only the styles differ."""
    net = style_net(g)
    ws_a = net.ws(g.latents(cols, seed), psi)
    ws_b = net.ws(g.latents(rows, seed + 1), psi)
    img_a, img_b = net.synthesize(ws_a, "const"), net.synthesize(ws_b, "const")
    blank = torch.zeros_like(img_a[0])
    table = [torch.stack([blank, *img_a])]
    row_labels = ["sources A"]
    for name, (start, stop) in style_blocks(net.synthesis.resolution, net.style_mode).items():
        for i in range(rows):
            mixed = ws_a.clone()
            mixed[:, start:stop] = ws_b[i : i + 1, start:stop]
            table.append(torch.stack([img_b[i], *net.synthesize(mixed, "const")]))
            row_labels.append(f"B{i}: {name} from B")
    return torch.stack(table), row_labels, ["sources B"] + [f"A{j}" for j in range(cols)]


@torch.no_grad()
def truncation_strip(g: Sampler, rows: int = 4, seed: int = 0, psis=TRUNCATION_PSIS):
    """(images (rows, len(psis), ...), labels): each latent's image as psi goes from -1 to 1."""
    net = style_net(g)
    z = g.latents(rows, seed)
    cols = [net.synthesize(net.ws(z, psi), "const") for psi in psis]
    return (
        torch.stack(cols, 1),
        [f"seed {seed}, latent {i}" for i in range(rows)],
        [f"psi={p:g}" for p in psis],
    )


@torch.no_grad()
def noise_variation(g: Sampler, rows: int = 3, draws: int = 4, std_draws: int = 32, seed: int = 0):
    """(images (rows, draws + 1, ...), labels, std): one w per row with `draws` noise draws, then the
    per-pixel standard deviation over `std_draws` draws, scaled so the largest is white. The noise
    should vary only fine detail: the std map shows where."""
    net = style_net(g)
    ws = net.ws(g.latents(rows, seed))
    with seeded_randomness(g.device, seed):
        samples = torch.stack([net.synthesize(ws, "random") for _ in range(max(draws, std_draws))], 1)
    std = samples.std(1).mean(1, keepdim=True)  # (rows, 1, H, W)
    peak = float(std.max()) or 1.0
    std_img = (std / peak * 2 - 1).expand(-1, samples.shape[2], -1, -1)
    table = torch.cat([samples[:, :draws], std_img[:, None]], 1)
    labels = [f"w of latent {i}" for i in range(rows)]
    return table, labels, [f"noise {k}" for k in range(draws)] + [f"std (white = {peak:.3f})"], std


def draw_style_mixing(g: Sampler, out: Path, seed: int = 0, psi: float = 1.0) -> Path:
    """The style-mixing figure at `out`, titled with the styled layers of each block."""
    images, rows, cols = style_mixing(g, seed=seed, psi=psi)
    split = style_blocks(g.net.synthesis.resolution, g.net.style_mode)
    blocks = ", ".join(f"{k} {a}-{b - 1}" for k, (a, b) in split.items())
    title = f"style mixing (iteration {g.iteration}, psi={psi:g}; styled layers: {blocks})"
    return image_table(images, out, rows, cols, title)


def draw_truncation(g: Sampler, out: Path, seed: int = 0) -> Path:
    """The truncation figure (psi from -1 to 1) at `out`."""
    images, rows, cols = truncation_strip(g, seed=seed)
    return image_table(images, out, rows, cols, f"truncation towards w_avg (iteration {g.iteration})")


def draw_noise(g: Sampler, out: Path, seed: int = 0) -> Path:
    """The noise figure (draws and their per-pixel std) at `out`."""
    images, rows, cols, _ = noise_variation(g, seed=seed)
    return image_table(images, out, rows, cols, f"noise inputs, w fixed (iteration {g.iteration})")


def write_style_figures(g: Sampler, out_dir: Path, seed: int = 0) -> list[Path]:
    """The three figures into out_dir; truncation only once w_avg has been tracked."""
    out_dir = Path(out_dir)
    paths = [
        draw_style_mixing(g, out_dir / "style_mixing.png", seed),
        draw_noise(g, out_dir / "noise.png", seed),
    ]
    if int(g.net.w_avg_updates) > 0:
        paths.append(draw_truncation(g, out_dir / "truncation.png", seed))
    return paths
