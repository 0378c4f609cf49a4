"""MMA-GAN training step: the Lightning module against a plain PyTorch loop doing the same math.

DCGAN 32x32 nets, B = M = 64. Prints real images consumed per second for both and their ratio.

    python benchmarks/step_throughput.py [--iterations 30] [--warmup 5] [--device cpu|cuda]
        [--precision 32-true|bf16-mixed] [--channels-last]
"""

from __future__ import annotations

import argparse
import time

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from mmagan.gan_module import GANModule
from mmagan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from mmagan.nets.init import dcgan_init
from mmagan.objectives import build_objective

B = M = 64
LATENT = 100


def make_parts(device: str, channels_last: bool):
    torch.manual_seed(0)
    g, d = DCGANGenerator(LATENT, 32), DCGANDiscriminator(32, out_features=8)
    dcgan_init(g), dcgan_init(d)
    if channels_last:
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    obj = build_objective("mmagan", num_heads=8, lambda_div=0.5, tau=0.5, diversity_batch_size=M)
    return g.to(device), d.to(device), obj


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


class Timer(L.Callback):
    def __init__(self, warmup: int, device: str):
        self.warmup, self.device, self.start = warmup, device, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            sync(self.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        sync(self.device)
        self.seconds = time.perf_counter() - self.start


def lightning_rate(args, data: torch.Tensor) -> float:
    g, d, obj = make_parts("cpu", args.channels_last)
    module = GANModule(g, d, obj, latent_dim=LATENT, eval_samples=1)
    timer = Timer(args.warmup, args.device)
    trainer = L.Trainer(
        accelerator="gpu" if args.device == "cuda" else "cpu",
        devices=1,
        precision=args.precision,
        max_steps=(args.warmup + args.iterations) * module.steps_per_iteration,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    loader = DataLoader(TensorDataset(data), batch_size=B, shuffle=True, drop_last=True)
    trainer.fit(module, train_dataloaders=loader)
    return args.iterations * B / timer.seconds


def plain_rate(args, data: torch.Tensor) -> float:
    dev = args.device
    g, d, obj = make_parts(dev, args.channels_last)
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    autocast = torch.autocast(dev, dtype=torch.bfloat16, enabled=args.precision == "bf16-mixed")
    loader = DataLoader(TensorDataset(data), batch_size=B, shuffle=True, drop_last=True)

    def step(real):
        real = real.to(dev, non_blocking=True)
        z = torch.randn(B, LATENT, device=dev)
        g.requires_grad_(False)
        with autocast:
            with torch.no_grad():
                fake = g(z)
            loss_d, _ = obj.d_loss(d(real), d(fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        g.requires_grad_(True)
        d.requires_grad_(False)
        with autocast:
            loss_g, _ = obj.g_loss(d(g(z)), d(g(torch.randn(M, LATENT, device=dev))))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        if not bool(torch.isfinite(loss_d) & torch.isfinite(loss_g)):  # the same check as the module
            raise RuntimeError("non-finite loss")

    batches = iter(loader)
    for _ in range(args.warmup):
        step(next(batches)[0])
    sync(dev)
    start = time.perf_counter()
    for _ in range(args.iterations):
        step(next(batches)[0])
    sync(dev)
    return args.iterations * B / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--repeats", type=int, default=2, help="alternate the two runs this many times")
    args = p.parse_args()
    if args.channels_last and args.device == "cpu":
        p.error("--channels-last is for --device cuda")
    n = (args.warmup + args.iterations) * B
    data = torch.rand(n, 3, 32, 32) * 2 - 1
    plain, light = [], []
    for _ in range(args.repeats):  # alternate so drift in machine load hits both
        plain.append(plain_rate(args, data))
        light.append(lightning_rate(args, data))
    best_plain, best_light = max(plain), max(light)
    print(
        f"\nMMA-GAN step, DCGAN 32x32, B=M={B}, K=8, {args.device}, {args.precision}, "
        f"{args.iterations} timed iterations x {args.repeats} repeats (best), torch {torch.__version__}"
    )
    print(f"{'loop':<22}{'images/s':>12}")
    print(f"{'plain PyTorch':<22}{best_plain:>12.1f}")
    print(f"{'mmagan GANModule':<22}{best_light:>12.1f}")
    print(f"{'ratio (module/plain)':<22}{best_light / best_plain:>12.3f}")


if __name__ == "__main__":
    main()
