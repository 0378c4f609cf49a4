"""Painting (Herdt and Maass, 2024): chosen activation vectors written into chosen regions of a
layer of G, from a colour map and a palette, then decoded by the rest of G. No retraining."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image
from torch import Tensor

from mmagan.inspect.layers import InspectError, module_at, require_file
from mmagan.inspect.surgery import FULL, painted, writing
from mmagan.inspect.vectors import VectorBank
from mmagan.sampler import Sampler

log = logging.getLogger("mmagan")


@dataclass(frozen=True)
class Stroke:
    """What one colour of the map paints: a vector (by id or cluster), in g x g blocks (0: full)."""

    vector: Tensor
    grid: int


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def read_map(
    path: str | Path, palette: list[str] | None = None, snap: float = 0.0
) -> tuple[Tensor, list[str]]:
    """(labels (H, W), colours): label i is the i-th distinct colour, as '#rrggbb'. With `snap` > 0,
    a colour within that RGB distance of a palette colour is taken as the nearest one (the edges of
    an anti-aliased drawing); how many pixels moved is logged."""
    require_file(path, "--map")
    rgb = np.asarray(Image.open(path).convert("RGB")).copy()
    flat = rgb.reshape(-1, 3)
    if snap > 0 and palette:
        targets = np.stack([_rgb(c) for c in palette])
        distance = np.linalg.norm(flat[:, None, :].astype(float) - targets[None], axis=2)
        nearest = distance.argmin(1)
        moved = (distance.min(1) <= snap) & (distance.min(1) > 0)
        flat[moved] = targets[nearest[moved]].astype(np.uint8)
        log.info(
            "--snap %g: %d of %d map pixels snapped to the nearest palette colour",
            snap,
            moved.sum(),
            len(flat),
        )
    colours, labels = np.unique(flat, axis=0, return_inverse=True)
    names = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours]
    return torch.from_numpy(labels.reshape(rgb.shape[:2])).long(), names


def read_palette(path: str | Path, bank: VectorBank, clusters: int = 8) -> dict[str, Stroke | None]:
    """`'#rrggbb': {vector: id, grid: g}`, `{cluster: c, grid: g}` or `keep` (G's own activations)."""
    require_file(path, "--palette")
    entries = yaml.safe_load(Path(path).read_text()) or {}
    centres = None
    strokes: dict[str, Stroke | None] = {}
    if not isinstance(entries, dict):
        raise InspectError(
            f"--palette {path}: expected a mapping of '#rrggbb' colours, got {type(entries).__name__}"
        )
    for colour, entry in entries.items():
        colour = str(colour).lower()
        if not re.fullmatch(r"#[0-9a-f]{6}", colour):
            raise InspectError(
                f"palette entry {colour!r}: the key must be a colour as '#rrggbb' (quoted in YAML)"
            )
        if entry == "keep":
            strokes[colour] = None
            continue
        if not isinstance(entry, dict):
            raise InspectError(
                f"palette {colour}: {entry!r} is invalid: give {{vector: <id>, grid: <g>}}, "
                "{cluster: <k>, grid: <g>} or keep"
            )
        grid = entry.get("grid", FULL)
        if not isinstance(grid, int) or isinstance(grid, bool) or grid < 0:
            raise InspectError(f"palette {colour}: grid {grid!r} is invalid: 0 (full) or a block size >= 1")
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
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InspectError(
            f"{len(missing)} map colours are not in the palette ({shown}; palette: {sorted(strokes)}); "
            "an anti-aliased map: --snap <RGB distance> takes near colours as the palette's"
        )
    palette = {i: (s.vector, s.grid) for i, c in enumerate(colours) if (s := strokes[c]) is not None}
    vectors, mask = painted(bank.layer, labels, palette)
    z = sampler.latents(1, seed=base_seed)
    base = sampler(z)[0]
    with writing(module_at(sampler.net, bank.layer), vectors, mask):
        image = sampler(z)[0]
    return base, image
