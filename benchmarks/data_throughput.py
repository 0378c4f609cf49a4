"""Loader throughput of each image data set beside what one MMA-GAN training step consumes.

    python benchmarks/data_throughput.py [--device cuda] [--data-dir data] [--celeba data/celeba_hq_256.npy]

For each data set the table gives the images/s its DataLoader delivers to the device (uint8
transfer, conversion to [-1, 1] and flip included) at several worker counts, and the images/s the
DCGAN MMA-GAN step (B = M = 64, K = 8) consumes at that resolution. loader/step > 1 means data keeps
up. Data sets missing under --data-dir are replaced by random images of the real count and shape,
read through the same classes (marked "synthetic").
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mmagan.data.celeba_hq import CelebAHQDataModule
from mmagan.data.cifar10 import CIFAR10DataModule
from mmagan.data.digits import load_digits
from mmagan.data.images import ImageArray, ImageDataModule
from mmagan.data.stacked import StackedDigits, StackedDigitsDataModule
from mmagan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from mmagan.objectives import build_objective


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def loader_rate(dm: ImageDataModule, device: str, batches: int) -> float:
    loader = dm.train_dataloader()
    it = iter(loader)
    for _ in range(2):  # worker start-up and first pages
        dm.on_after_batch_transfer(next(it).to(device, non_blocking=True), 0)
    sync(device)
    start, n = time.perf_counter(), 0
    for _ in range(batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        x = dm.on_after_batch_transfer(batch.to(device, non_blocking=True), 0)
        n += x.shape[0]
    sync(device)
    return n / (time.perf_counter() - start)


def step_rate(resolution: int, device: str, steps: int, batch: int = 64) -> float:
    """Real images per second one MMA-GAN D step + G step consumes (plain PyTorch loop)."""
    width = 64 if resolution <= 128 else 32
    G = DCGANGenerator(100, resolution, 3, width, 8 if resolution <= 128 else 16).to(device)
    D = DCGANDiscriminator(resolution, 3, width, 8, "batch", 8 if resolution <= 128 else 16).to(device)
    obj = build_objective(name="mmagan", num_heads=8, lambda_div=0.5, tau=0.5, diversity_batch_size=batch)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 3, resolution, resolution, device=device) * 2 - 1

    def step() -> None:
        z = torch.randn(batch, 100, device=device)
        with torch.no_grad():
            fake = G(z)
        loss_d, _ = obj.d_loss(D(real), D(fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        div = D(G(torch.randn(batch, 100, device=device)))
        loss_g, _ = obj.g_loss(D(G(z)), div)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    for _ in range(2):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * batch / (time.perf_counter() - start)


def synthetic(dm: ImageDataModule, count: int, memmap_dir: Path | None) -> None:
    shape = (count, *dm.sample_shape)
    rng = np.random.default_rng(0)
    if memmap_dir is None:
        dm.train_set = ImageArray(torch.from_numpy(rng.integers(0, 256, shape, dtype=np.uint8)))
        return
    path = memmap_dir / f"synthetic_{dm.sample_shape[-1]}.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    for start in range(0, count, 1000):
        array[start : start + 1000] = rng.integers(0, 256, array[start : start + 1000].shape, dtype=np.uint8)
    array.flush()
    dm.train_set = ImageArray(np.load(path, mmap_mode="r"))


def data_sets(args, tmp: Path):
    """(label, DataModule factory taking loader settings, real count, synthetic?)"""
    d = Path(args.data_dir)
    common = {"batch_size": 64}

    def cifar(loader):
        dm = CIFAR10DataModule(root=str(d / "cifar10"), download=False, loader=loader, **common)
        try:
            dm.setup()
            return dm, False
        except Exception:
            synthetic(dm, 50_000, None)
            return dm, True

    def celeba(resolution):
        def make(loader):
            source = args.celeba or "synthetic.npy"
            dm = CelebAHQDataModule(source=source, resolution=resolution, loader=loader, flip=True, **common)
            if args.celeba:
                dm.setup()
                return dm, False
            synthetic(dm, args.celeba_count, tmp)
            return dm, True

        return make

    def stacked(name):
        def make(loader):
            dm = StackedDigitsDataModule(
                name=name, root=str(d / "mnist"), download=False, num_samples=128_000, loader=loader, **common
            )
            try:
                digits, _ = load_digits(dm.digit_set, dm.root, True, download=False)
                synthetic_flag = False
            except Exception:
                digits, synthetic_flag = torch.randint(0, 256, (60_000, 32, 32), dtype=torch.uint8), True
            g = torch.Generator().manual_seed(0)
            dm.train_set = StackedDigits(digits, torch.randint(len(digits), (128_000, 3), generator=g))
            return dm, synthetic_flag

        return make

    yield "cifar10", cifar, 32
    yield "celeba_hq_128", celeba(128), 128
    yield "celeba_hq_256", celeba(256), 256
    yield "stacked_mnist", stacked("stacked_mnist"), 32
    yield "stacked_digits", stacked("stacked_digits"), 32


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--celeba", default=None, help="a prepared CelebA-HQ .npy (else synthetic)")
    p.add_argument("--celeba-count", type=int, default=10_000, help="synthetic CelebA-HQ images")
    p.add_argument("--batches", type=int, default=100, help="timed loader batches")
    p.add_argument("--steps", type=int, default=10, help="timed training steps")
    p.add_argument("--workers", default="auto,0,2", help="comma-separated num_workers values")
    args = p.parse_args()
    workers = [w if w == "auto" else int(w) for w in args.workers.split(",")]
    print(f"device {args.device}, {os.cpu_count()} CPU cores, batch 64")
    print(
        f"{'data set':<16}{'data':<11}{'workers':>8}{'loader img/s':>14}{'step img/s':>12}{'loader/step':>13}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        step_cache: dict[int, float] = {}
        for label, make, resolution in data_sets(args, Path(tmp)):
            if resolution not in step_cache:
                step_cache[resolution] = step_rate(resolution, args.device, args.steps)
            for w in workers:
                dm, is_synthetic = make({"num_workers": w, "persistent_workers": True})
                rate = loader_rate(dm, args.device, args.batches)
                shown = f"{w}->{dm.num_workers}" if w == "auto" else str(w)
                print(
                    f"{label:<16}{'synthetic' if is_synthetic else 'real':<11}{shown:>8}{rate:>14.0f}"
                    f"{step_cache[resolution]:>12.0f}{rate / step_cache[resolution]:>13.1f}"
                )


if __name__ == "__main__":
    main()
