"""The style-based generator beside DCGAN's at the same resolution: images/s of G's forward pass
and of one MMA-GAN training step (the module, B = M = 64, K = 8, random images of the data's shape);
then the cost of StyleGAN2's path-length regularisation: the modulated generator's step with
pl.weight 0 and 2 (lazy, every 4 iterations on half the batch), side by side.

Widths: `cpu` is the narrow nets of experiment=stacked_digits_stylegan (32 feature maps at most)
against DCGAN at width 16; `paper` is StyleGAN2's (channel_base 16384, 512 at most) against DCGAN at
width 64 (the paper's CelebA-HQ nets). On a GPU, use bf16-mixed.

    python benchmarks/stylegan_throughput.py [--resolutions 32,128] [--widths cpu|paper]
        [--device cpu|cuda] [--precision 32-true|bf16-mixed] [--iterations 10] [--warmup 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from step_throughput import Timer, sync  # benchmarks/ is the script's own folder on sys.path

from mmagan.build import build
from mmagan.config import compose
from mmagan.data.images import ImageArray

WIDTHS = {
    "cpu": {
        "stylegan": [
            "net=stylegan",
            "net.latent_dim=64",
            "net.w_dim=64",
            "net.channel_base=512",
            "net.channel_max=32",
            "net.d_channel_base=512",
            "net.d_channel_max=32",
        ],
        "dcgan": ["net=dcgan", "net.g_width=16", "net.d_width=16"],
    },
    "paper": {"stylegan": ["net=stylegan"], "dcgan": ["net=dcgan", "net.g_width=64", "net.d_width=64"]},
}


def run_config(args, net: list[str], resolution: int, out: Path):
    return compose(
        "train",
        [
            "data=celeba_hq",
            f"data.resolution={resolution}",
            "data.batch_size=64",
            "data.flip=false",
            "data.source=random.npy",  # never read: the benchmark hands the DataModule random images
            *net,
            f"trainer={'gpu' if args.device == 'cuda' else 'cpu'}",
            f"trainer.precision={args.precision}",
            "trainer.val_check_interval=1000000",
            "logger=none",
            "+trainer.enable_model_summary=false",
            "callbacks.checkpoint.every_n_iterations=0",
            "callbacks.checkpoint.save_last=false",
            "callbacks.sample_snapshots.every_n_iterations=0",
            "callbacks.progress_bar.refresh_rate=0",
            "callbacks.style_figures.enabled=false",
            f"iterations={args.warmup + args.iterations}",
            f"paths.output_dir={out}",
        ],
    )


def measure(args, net: list[str], resolution: int) -> tuple[float, float, int]:
    """(G forward images/s, training images/s, G's parameters)."""
    data = torch.randint(0, 256, (2048, 3, resolution, resolution), dtype=torch.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        run = build(run_config(args, net, resolution, Path(tmp) / "run"))
        dm = run.datamodule
        dm.prepare_data = lambda: None  # random images of the data's shape stand in
        dm.setup = lambda stage=None: setattr(dm, "train_set", ImageArray(data))
        timer = Timer(args.warmup, args.iterations, args.device)
        run.trainer.callbacks.append(timer)
        run.trainer.fit(run.module, datamodule=dm)
        step = 64 / (timer.seconds / args.iterations)
        g = run.module.generator.eval()
        z = torch.randn(64, run.module.latent_dim, device=run.module.device)
        autocast = torch.autocast(args.device, torch.bfloat16, enabled=args.precision == "bf16-mixed")
        with torch.no_grad(), autocast:
            for _ in range(args.warmup):
                g(z)
            sync(args.device)
            start = time.perf_counter()
            for _ in range(args.iterations):
                g(z)
            sync(args.device)
        forward = 64 * args.iterations / (time.perf_counter() - start)
        return forward, step, sum(p.numel() for p in g.parameters())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolutions", default="32,128")
    p.add_argument("--widths", default="cpu", choices=sorted(WIDTHS))
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    p.add_argument("--iterations", type=int, default=12, help="a multiple of 4 times PL evenly")
    p.add_argument("--warmup", type=int, default=4)
    args = p.parse_args()
    where = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    print(
        f"\nG forward and MMA-GAN step (K=8, B=M=64), {args.device} ({where}), {args.precision}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, {args.widths} widths; "
        f"{args.iterations} timed iterations"
    )
    print("\n| resolution | G | G params | G forward, images/s | MMA-GAN step, images/s | step vs DCGAN |")
    print("|---|---|---|---|---|---|")
    resolutions = [int(r) for r in args.resolutions.split(",")]
    for resolution in resolutions:
        results = {name: measure(args, net, resolution) for name, net in WIDTHS[args.widths].items()}
        dcgan_step = results["dcgan"][1]
        for name, (forward, step, params) in results.items():
            print(
                f"| {resolution} | {name} | {params / 1e6:.2f} M | {forward:,.0f} | {step:,.1f} | "
                f"{step / dcgan_step:.2f} |"
            )
    print("\nStyleGAN2 (style_mode=modulated, FIR filters): the step without and with path-length reg.")
    print("\n| resolution | step, PL off, images/s | step, PL on (every 4), images/s | PL on / off |")
    print("|---|---|---|---|")
    stylegan2 = [*WIDTHS[args.widths]["stylegan"], "net.style_mode=modulated"]
    for resolution in resolutions:
        off = measure(args, [*stylegan2, "pl.weight=0"], resolution)[1]
        on = measure(args, [*stylegan2, "pl.weight=2", "pl.interval=4"], resolution)[1]
        print(f"| {resolution} | {off:,.1f} | {on:,.1f} | {on / off:.2f} |")


if __name__ == "__main__":
    main()
