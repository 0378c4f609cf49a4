"""Which layer holds tileable features? Tileability of sampled vectors at every spatial layer of G,
so a user finds the paper's "LayerX" for their own generator instead of guessing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from mmagan.inspect.gallery import TILEABILITY_GRID, Features, gallery_images, tileability
from mmagan.inspect.layers import Layer, list_layers
from mmagan.inspect.vectors import VectorBank, collect
from mmagan.plots import image_table, save_figure
from mmagan.sampler import Sampler


@dataclass
class LayerScores:
    """Tileability of random vectors of one layer, and the ranking of its vectors."""

    layer: Layer
    bank: VectorBank
    ids: list[int]
    scores: Tensor  # tileability of each id, in [-1, 1]


def sweepable(layers: list[Layer]) -> list[Layer]:
    """Hidden spatial layers where a block of TILEABILITY_GRID fits with a gap after it."""
    return [
        layer
        for layer in layers
        if layer.spatial and not layer.is_output and min(layer.shape[1:]) > TILEABILITY_GRID
    ]


@torch.no_grad()
def sweep(
    sampler: Sampler, features: Features, latents: int = 8, vectors: int = 64, seed: int = 0
) -> list[LayerScores]:
    """Per sweepable layer: `vectors` random vectors of `latents` forward passes, and their
    tileability (the same random ids wherever a layer has as many positions)."""
    out = []
    for layer in sweepable(list_layers(sampler.net, sampler.latent_dim)):
        bank = collect(sampler, layer.path, latents, seed)
        g = torch.Generator().manual_seed(seed)
        ids = torch.randperm(len(bank), generator=g)[: min(vectors, len(bank))].tolist()
        out.append(LayerScores(layer, bank, ids, tileability(sampler, bank, ids, features)))
    return out


def _name(layer: Layer) -> str:
    return f"{layer.index}:{layer.path} {layer.kind} {layer.shape[1]}x{layer.shape[2]}"


def distribution_figure(results: list[LayerScores], path: Path, extractor: str) -> Path:
    """Tileability per layer as box plots, one box per sweepable layer."""
    fig = Figure(figsize=(max(5.0, 0.55 * len(results) + 2), 4.2))
    ax = fig.subplots()
    ax.boxplot([r.scores.numpy() for r in results], showfliers=True)
    ax.set_xticks(
        range(1, len(results) + 1), [_name(r.layer) for r in results], rotation=60, ha="right", fontsize=6
    )
    ax.set_ylabel(f"tileability (cos of block {TILEABILITY_GRID} and full)")
    ax.set_ylim(-1.05, 1.05)
    ax.grid(alpha=0.3, axis="y")
    n = len(results[0].ids) if results else 0
    ax.set_title(f"tileability of {n} random vectors per layer, {extractor} features", fontsize=8)
    save_figure(fig, path)
    return path


def layer_galleries(
    sampler: Sampler, results: list[LayerScores], out: Path, base_seed: int = 0, show: int = 2
) -> list[Path]:
    """Per layer: its `show` most and least tileable vectors, as in `mmagan-inspect gallery`."""
    written = []
    for r in results:
        order = r.scores.argsort(descending=True).tolist()
        shown = order if len(order) <= 2 * show else order[:show] + order[-show:]
        images = gallery_images(sampler, r.bank, [r.ids[i] for i in shown], base_seed)
        labels = [f"id {r.ids[i]}: {r.scores[i]:.2f}" for i in shown]
        slug = re.sub(r"[^A-Za-z0-9]+", "_", r.layer.path)
        path = out.with_name(f"{out.stem}_{r.layer.index:03d}_{slug}.png")
        columns = ["source", "base", "full", "block 1", "block 2", "block 3"]
        image_table(images, path, labels, columns, f"layer {_name(r.layer)}: most and least tileable")
        written.append(path)
    return written


def summary(results: list[LayerScores], extractor: str) -> dict:
    """The sweep's figures as JSON: per layer, the tileability quartiles and its best vectors."""
    return {
        "extractor": extractor,
        "layers": [
            {
                "index": r.layer.index,
                "path": r.layer.path,
                "kind": r.layer.kind,
                "shape": list(r.layer.shape),
                "vectors": len(r.ids),
                "median": float(np.median(r.scores.numpy())),
                "quartiles": [float(q) for q in np.quantile(r.scores.numpy(), [0.25, 0.75])],
                "most_tileable_id": r.ids[int(r.scores.argmax())],
            }
            for r in results
        ],
    }
