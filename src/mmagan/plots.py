"""Figures written to run folders and sent to the loggers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

# Figure objects, not pyplot: no global backend is chosen at import and no window can open.
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid


def save_scatter(samples: Tensor, path: Path, modes: Tensor | None = None, title: str = "") -> Path:
    """Generated 2-D samples (blue) over the true modes (red crosses)."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
    fig.tight_layout()
    fig.savefig(path)
    return path


def save_image_grid(images: Tensor, path: Path) -> Path:
    """Images in [-1, 1] as one PNG grid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = images.shape[0]
    grid = make_grid(
        images.detach().float().cpu(), nrow=int(np.ceil(np.sqrt(n))), normalize=True, value_range=(-1, 1)
    )
    Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    return path


def load_png(path: Path) -> np.ndarray:
    """An (H, W, 3) uint8 array, the form every logger accepts."""
    return np.array(Image.open(path).convert("RGB"))


def to_chw(array: np.ndarray) -> Tensor:
    return torch.from_numpy(array).permute(2, 0, 1)
