"""The PNGs and GIF the inspection commands write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor


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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def save_gif(frames: Tensor, path: Path, ms_per_frame: int = 150) -> Path:
    """frames (T, C, H, W) in [-1, 1], forth and back, as an animated GIF."""
    pictures = [Image.fromarray(_rgb(f)) for f in frames]
    scale = max(1, 128 // pictures[0].width)
    pictures = [p.resize((p.width * scale, p.height * scale), Image.NEAREST) for p in pictures]
    loop = pictures + pictures[-2:0:-1]
    loop[0].save(path, save_all=True, append_images=loop[1:], duration=ms_per_frame, loop=0)
    return path


def line_plot(values: Tensor, path: Path, ylabel: str, title: str) -> Path:
    fig = Figure(figsize=(4.5, 2.6))
    ax = fig.subplots()
    ax.plot(range(1, len(values) + 1), values.cpu().numpy(), marker="o", ms=3)
    ax.set_xlabel("step along the path")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
