"""The package's figures: the one place that draws and saves them. Run folders (scatters, sample
grids), the inspection commands (labelled image tables, GIFs, line plots) and the report's rooms
(which compose their own axes) all save through `save_figure`: atomically, so a dashboard or the
report never reads half a PNG."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

# Figure objects, not pyplot: no global backend is chosen at import and no window can open.
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid

from mmagan.runs.files import atomic_write


def save_figure(fig: Figure, path: Path, dpi: int = 100, tight: bool = True, **savefig_kwargs) -> Path:
    """Lay out and write a matplotlib Figure to `path` (its suffix gives the format)."""
    if tight:
        fig.tight_layout()
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt, **savefig_kwargs))


def save_scatter(samples: Tensor, path: Path, modes: Tensor | None = None, title: str = "") -> Path:
    """Generated 2-D samples (blue) over the true modes (red crosses)."""
    fig = Figure(figsize=(5, 5), dpi=100)
    ax = fig.subplots()
    pts = samples.detach().float().cpu().numpy()
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.5, label="generated")
    if modes is not None:
        m = modes.cpu().numpy()
        ax.scatter(m[:, 0], m[:, 1], marker="x", c="red", s=60, label="true modes")
        span = float(np.abs(m).max()) * 1.5 + 0.5
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    return save_figure(fig, path)


def save_generator_modes(counts: Tensor, path: Path, title: str = "") -> Path:
    """(k, M) counts as a heatmap: which generator (row) puts its high-quality samples at which
    true mode (column), each row as shares of that generator's samples."""
    shares = counts.double() / counts.sum(1, keepdim=True).clamp(min=1)
    k, m = shares.shape
    fig = Figure(figsize=(max(4.0, 0.3 * m + 2), max(2.5, 0.35 * k + 1.5)), dpi=100)
    ax = fig.subplots()
    image = ax.imshow(shares.numpy(), cmap="viridis", vmin=0, aspect="auto")
    ax.set_xlabel("true mode")
    ax.set_ylabel("generator")
    ax.set_yticks(range(k))
    fig.colorbar(image, ax=ax, label="share of the generator's high-quality samples")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def save_image_grid(images: Tensor, path: Path) -> Path:
    """Images in [-1, 1] as one PNG grid."""
    n = images.shape[0]
    grid = make_grid(
        images.detach().float().cpu(), nrow=int(np.ceil(np.sqrt(n))), normalize=True, value_range=(-1, 1)
    )
    picture = Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))


def png_bytes(image: Tensor) -> bytes:
    """One image in [-1, 1] as PNG bytes, its pixels rounded the way `to_uint8` rounds samples."""
    from mmagan.sampler import to_uint8

    array = to_uint8(image[None])[0].permute(1, 2, 0).numpy()
    picture = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def load_png(path: Path) -> np.ndarray:
    """An (H, W, 3) uint8 array, the form every logger accepts."""
    return np.array(Image.open(path).convert("RGB"))


def to_chw(array: np.ndarray) -> Tensor:
    """An (H, W, C) array as a (C, H, W) tensor, the form TensorBoard's add_image takes."""
    return torch.from_numpy(array).permute(2, 0, 1)


def _rgb(image: Tensor) -> np.ndarray:
    x = image.detach().float().cpu().add(1).mul(127.5).clamp(0, 255).byte()
    return x.permute(1, 2, 0).numpy() if x.shape[0] == 3 else x[0].numpy()


def image_table(
    images: Tensor,
    path: Path,
    row_labels: list[str],
    col_labels: list[str],
    title: str = "",
    heads: Tensor | None = None,
) -> Path:
    """images (rows, cols, C, H, W) in [-1, 1] as a labelled table; `heads` (rows, cols, K): D's
    mean activation per head for each image, drawn as bars under it (MMA-GAN)."""
    rows, cols = images.shape[:2]
    per_row = 2 if heads is not None else 1
    fig = Figure(figsize=(1.3 * cols + 1.2, 1.3 * rows * (1.4 if heads is not None else 1) + 0.4))
    axes = fig.subplots(
        rows * per_row, cols, squeeze=False, height_ratios=[3, 1] * rows if heads is not None else None
    )
    for r in range(rows):
        for c in range(cols):
            ax = axes[r * per_row, c]
            ax.imshow(_rgb(images[r, c]), cmap="gray")
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(col_labels[c], fontsize=7)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=7)
            if heads is not None:
                bars = axes[r * per_row + 1, c]
                values = heads[r, c].cpu().numpy()
                if np.isnan(values).all():  # not an image D judges (a colour map)
                    bars.axis("off")
                    continue
                k = len(values)
                bars.bar(range(k), values, color="tab:blue")
                bars.set_ylim(0, 1), bars.tick_params(labelsize=4)
                bars.set_xticks(range(k), [str(i) for i in range(k)] if k <= 16 else [""] * k)
                if c == 0:
                    bars.set_ylabel("D_k(x)\nby head k", fontsize=5)
    if title:
        fig.suptitle(title, fontsize=8)
    return save_figure(fig, path)


def save_gif(frames: Tensor, path: Path, ms_per_frame: int = 150) -> Path:
    """frames (T, C, H, W) in [-1, 1], forth and back, as an animated GIF."""
    pictures = [Image.fromarray(_rgb(f)) for f in frames]
    scale = max(1, 128 // pictures[0].width)
    pictures = [p.resize((p.width * scale, p.height * scale), Image.NEAREST) for p in pictures]
    loop = pictures + pictures[-2:0:-1]
    return atomic_write(
        path,
        lambda tmp: loop[0].save(
            tmp, format="GIF", save_all=True, append_images=loop[1:], duration=ms_per_frame, loop=0
        ),
    )


def line_plot(values: Tensor, path: Path, ylabel: str, title: str) -> Path:
    """One value per step along a latent path (interpolation smoothness), as a small line plot."""
    fig = Figure(figsize=(4.5, 2.6))
    ax = fig.subplots()
    ax.plot(range(1, len(values) + 1), values.cpu().numpy(), marker="o", ms=3)
    ax.set_xlabel("step along the path")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=8)
    return save_figure(fig, path)
