"""Inspection speed: activation vectors collected per second and painted images per second, for the
DCGAN generator (random weights) at 32 and 128 px, on the CPU or a GPU.

    python benchmarks/inspect_throughput.py [--latents 64] [--paints 32] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import torch

from mmagan.inspect.layers import list_layers
from mmagan.inspect.paint import Stroke, paint
from mmagan.inspect.vectors import collect
from mmagan.nets.dcgan import DCGANGenerator
from mmagan.sampler import Sampler


def timed(fn, device: str):
    """(seconds, what fn returned)."""
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def one_resolution(resolution: int, args) -> str:
    torch.manual_seed(0)
    g = Sampler(DCGANGenerator(100, resolution), 100, (3, resolution, resolution)).to(args.device)
    layer = next(layer for layer in list_layers(g.net, 100) if layer.spatial and layer.shape[1] == 8)
    t_collect, bank = timed(lambda: collect(g, layer.path, args.latents, seed=0), args.device)
    labels = torch.zeros(8, 8, dtype=torch.long)
    labels[2:6, 2:6] = 1
    strokes = {"#000000": None, "#ffffff": Stroke(bank.vector(7), 2)}
    colours = ["#000000", "#ffffff"]
    t_paint, _ = timed(
        lambda: [paint(g, bank, labels, colours, strokes, s) for s in range(args.paints)], args.device
    )
    return f"| {resolution} | {layer.shape} | {len(bank) / t_collect:,.0f} | {args.paints / t_paint:,.1f} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latents", type=int, default=64)
    p.add_argument("--paints", type=int, default=32)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = p.parse_args()
    print(f"\n{args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| resolution | layer (C, H, W) | vectors / s | painted images / s |")
    print("|---|---|---|---|")
    for resolution in (32, 128):
        print(one_resolution(resolution, args))


if __name__ == "__main__":
    main()
