"""Painting (Herdt and Maass, 2024): chosen activation vectors written into chosen regions of a
layer of G, from a colour map and a palette, then decoded by the rest of G. No retraining."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image
from torch import Tensor

from mmagan.inspect.layers import InspectError, module_at, require_file
from mmagan.inspect.surgery import painted, writing
from mmagan.inspect.vectors import VectorBank
from mmagan.sampler import Sampler


@dataclass(frozen=True)
class Stroke:
    """What one colour of the map paints: a vector (by id or cluster), on a lattice of spacing g."""

    vector: Tensor
    grid: int


def read_map(path: str | Path) -> tuple[Tensor, list[str]]:
    """(labels (H, W), colours): label i is the i-th distinct colour, as '#rrggbb'."""
    require_file(path, "--map")
    rgb = np.asarray(Image.open(path).convert("RGB"))
    flat = rgb.reshape(-1, 3)
    colours, labels = np.unique(flat, axis=0, return_inverse=True)
    names = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours]
    return torch.from_numpy(labels.reshape(rgb.shape[:2])).long(), names


def read_palette(path: str | Path, bank: VectorBank, clusters: int = 8) -> dict[str, Stroke | None]:
    """`'#rrggbb': {vector: id, grid: g}`, `{cluster: c, grid: g}` or `keep` (G's own activations)."""
    require_file(path, "--palette")
    entries = yaml.safe_load(Path(path).read_text()) or {}
    centres = None
    strokes: dict[str, Stroke | None] = {}
    for colour, entry in entries.items():
        colour = str(colour).lower()
        if entry == "keep":
            strokes[colour] = None
            continue
        grid = int(entry.get("grid", 1))
        if "vector" in entry:
            strokes[colour] = Stroke(bank.vector(int(entry["vector"])), grid)
        elif "cluster" in entry:
            centres = bank.cluster_centres(clusters) if centres is None else centres
            c = int(entry["cluster"])
            if not 0 <= c < len(centres):
                raise InspectError(f"palette {colour}: cluster {c} is out of range (0 to {len(centres) - 1})")
            strokes[colour] = Stroke(centres[c], grid)
        else:
            raise InspectError(f"palette {colour}: give `vector: <id>`, `cluster: <k>` or `keep`")
    return strokes


@torch.no_grad()
def paint(
    sampler: Sampler,
    bank: VectorBank,
    labels: Tensor,
    colours: list[str],
    strokes: dict[str, Stroke | None],
    base_seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """(base image, painted image), each (C, H, W) in [-1, 1]: the base sample of `base_seed`, and
    the same latent with the palette's vectors written into the map's regions of the layer."""
    missing = [c for c in colours if c not in strokes]
    if missing:
        raise InspectError(f"map colours {missing} are not in the palette (known: {sorted(strokes)})")
    palette = {i: (s.vector, s.grid) for i, c in enumerate(colours) if (s := strokes[c]) is not None}
    vectors, mask = painted(bank.layer, labels, palette)
    z = sampler.latents(1, seed=base_seed)
    base = sampler(z)[0]
    with writing(module_at(sampler.net, bank.layer), vectors, mask):
        image = sampler(z)[0]
    return base, image
