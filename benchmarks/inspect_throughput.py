"""Inspection speed: activation vectors collected per second and painted images per second, for the
DCGAN generator (random weights) at 32, 64 and 128 px, on the CPU or a GPU; and the painting
page's round trip (an HTTP request with a stroke -> the painted PNG, through a real local server),
median over `--requests`, at 32 and 64 px.

    python benchmarks/inspect_throughput.py [--latents 64] [--paints 32] [--requests 30] [--device cpu|cuda]
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


def page_round_trip(resolution: int, args) -> str:
    """Median ms from sending a paint request to holding the PNG, over a real socket to uvicorn."""
    import socket
    import statistics
    import threading

    import httpx
    import uvicorn

    from mmagan.inspect.gallery import pixel_features
    from mmagan.inspect.server import PaintSession, create_app

    torch.manual_seed(0)
    g = Sampler(DCGANGenerator(100, resolution), 100, (3, resolution, resolution)).to(args.device)
    session = PaintSession(g, pixel_features, "pixels", latents=8)
    layer = next(layer for layer in session.layers if layer.shape[1] == 8)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(session), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    labels = [[-1] * 8 for _ in range(8)]
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(args.requests + 3):
            labels[i % 8][(3 * i) % 8] = 0  # one more cell per stroke
            body = {
                "layer": layer.path,
                "seed": 1,
                "labels": labels,
                "palette": {"0": {"vector": {"id": 5}, "block": 2}},
            }
            start = time.perf_counter()
            response = client.post("/api/paint", json=body)
            response.raise_for_status()
            if i >= 3:  # the first requests collect the layer's vectors
                times.append(1000 * (time.perf_counter() - start))
    server.should_exit = True
    thread.join(timeout=5)
    return (
        f"| {resolution} | {layer.path} {layer.shape} | {statistics.median(times):.1f} | {max(times):.1f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latents", type=int, default=64)
    p.add_argument("--paints", type=int, default=32)
    p.add_argument("--requests", type=int, default=30, help="paint requests timed per resolution")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = p.parse_args()
    print(f"\n{args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| resolution | layer (C, H, W) | vectors / s | painted images / s |")
    print("|---|---|---|---|")
    for resolution in (32, 64, 128):
        print(one_resolution(resolution, args))
    print("\npainting page: request with a stroke -> painted PNG")
    print("| resolution | layer (C, H, W) | median ms | slowest ms |")
    print("|---|---|---|---|")
    for resolution in (32, 64):
        print(page_round_trip(resolution, args))


if __name__ == "__main__":
    main()
