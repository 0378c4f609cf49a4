"""The MMA-GAN training step: mmagan's Lightning module against the fastest plain PyTorch loop.

Two nets: DCGAN 32x32 (B = M = 64, K = 8; CIFAR-10's shape and count, random images) and PacGAN's
MLPs on the ring (B = 100, M = 64, K = 8). The plain loop is what a careful hand-written script
does: fused Adam, no host read in the step, the data set on the device with batches taken by an
on-device permutation, channels_last for the conv nets on a GPU. The module runs with the speed
switches of `--switches` (conf/trainer/*.yaml `speed`). On the CPU, each switch is also timed on and
off. Prints ms per iteration, images/s, the module/plain ratio, and the projected wall time of the
CIFAR-10 protocol (100 epochs = 78,100 iterations at B = 64).

    python benchmarks/step_throughput.py [--iterations 40] [--warmup 5] [--repeats 2]
        [--device cpu|cuda] [--precision 32-true|bf16-mixed] [--nets conv,mlp] [--compile]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightning as L
import torch

from mmagan.build import build
from mmagan.config import compose
from mmagan.data.images import ImageArray
from mmagan.data.sampling import epoch_order
from mmagan.data.toy import Points

CIFAR_EPOCH_ITERATIONS = 50_000 // 64
PROTOCOL_ITERATIONS = 100 * CIFAR_EPOCH_ITERATIONS
NETS = {
    "conv": dict(batch=64, overrides=["data=cifar10", "data.download=false", "net=dcgan"], count=50_000),
    "mlp": dict(batch=100, overrides=["data=ring", "net=mlp"], count=100_000),
}


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def config(args, net: str, out: Path, switches: list[str]):
    trainer = "gpu" if args.device == "cuda" else "cpu"
    return compose(
        "train",
        [
            *NETS[net]["overrides"],
            f"trainer={trainer}",
            f"trainer.precision={args.precision}",
            "trainer.val_check_interval=1000000",
            "trainer.log_every_n_steps=50",
            "logger=none",
            "callbacks.checkpoint.every_n_iterations=0",
            "callbacks.checkpoint.save_last=false",
            "callbacks.sample_snapshots.every_n_iterations=0",
            "callbacks.progress_bar.refresh_rate=0",
            "callbacks.mode_coverage.enabled=false",
            f"iterations={args.warmup + args.iterations}",
            f"paths.output_dir={out}",
            *switches,
        ],
    )


def fake_data(net: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if net == "conv":
        return torch.randint(0, 256, (NETS[net]["count"], 3, 32, 32), dtype=torch.uint8, generator=g)
    return torch.randn(NETS[net]["count"], 2, generator=g)


class Timer(L.Callback):
    def __init__(self, warmup: int, device: str):
        self.warmup, self.device, self.start, self.seconds = warmup, device, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration == self.warmup:
            sync(self.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        sync(self.device)
        self.seconds = time.perf_counter() - self.start


def module_seconds(args, net: str, data: torch.Tensor, switches: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        run = build(config(args, net, Path(tmp) / "run", switches))
        dm = run.datamodule
        dm.prepare_data = lambda: None  # random images of CIFAR's shape and count stand in
        dm.train_set = ImageArray(data) if net == "conv" else Points(data)
        timer = Timer(args.warmup, args.device)
        run.trainer.callbacks.append(timer)
        run.trainer.fit(run.module, datamodule=dm)
        return timer.seconds / args.iterations


def plain_seconds(args, net: str, data: torch.Tensor) -> float:
    """The same math in the fastest loop we can write by hand (no Lightning)."""
    dev = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        run = build(config(args, net, Path(tmp) / "run", []))  # the same nets and objective
    m = run.module
    G, D, obj = m.generator.to(dev), m.discriminator.to(dev), m.objective
    conv = net == "conv"
    channels_last = conv and args.device == "cuda"
    if channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    if args.compile:
        G.compile(), D.compile()
    opt_d = torch.optim.Adam(D.parameters(), m.lr_d, betas=m.betas, fused=True)
    opt_g = torch.optim.Adam(G.parameters(), m.lr_g, betas=m.betas, fused=True)
    on_device = data.to(dev)
    B, M, latent = NETS[net]["batch"], obj.diversity_batch_size, m.latent_dim
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.precision == "bf16-mixed")

    def batches():
        epoch = 0
        while True:
            order = epoch_order(len(on_device), 0, epoch, dev)
            for b in range(len(order) // B):
                yield on_device[order[b * B : (b + 1) * B]]
            epoch += 1

    def step(real):
        real = real.float().div_(127.5).sub_(1) if conv else real
        if channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        z = torch.randn(B, latent, device=dev)
        G.requires_grad_(False)
        with autocast:
            with torch.no_grad():
                fake = G(z)
            loss_d, _ = obj.d_loss(D(real), D(fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        G.requires_grad_(True)
        D.requires_grad_(False)
        with autocast:
            loss_g, _ = obj.g_loss(D(G(z)), D(G(torch.randn(M, latent, device=dev))))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)

    source = batches()
    for _ in range(args.warmup):
        step(next(source))
    sync(args.device)
    start = time.perf_counter()
    for _ in range(args.iterations):
        step(next(source))
    sync(args.device)
    return (time.perf_counter() - start) / args.iterations


def row(name: str, seconds: float, batch: int, plain: float | None) -> str:
    ratio = f"{plain / seconds:.3f}" if plain else ""
    hours = seconds * PROTOCOL_ITERATIONS / 3600
    return f"| {name} | {seconds * 1e3:.2f} | {batch / seconds:,.0f} | {ratio} | {hours:.2f} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=2, help="alternate the loops this many times; best kept")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    p.add_argument("--nets", default="conv,mlp")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D in both loops")
    args = p.parse_args()
    gpu = args.device == "cuda"
    base = ["trainer.speed.device_data=true", "trainer.speed.optimizer=fused"]
    if args.compile:
        base.append("trainer.speed.compile=true")
    print(
        f"\nMMA-GAN step, K=8, {args.device} ({torch.cuda.get_device_name() if gpu else 'CPU'}), "
        f"{args.precision}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"{args.iterations} timed iterations, best of {args.repeats}"
    )
    print("\n| loop | ms / iteration | images/s | ratio (module / plain) | 100 CIFAR epochs, h |")
    print("|---|---|---|---|---|")
    for net in args.nets.split(","):
        data, batch = fake_data(net), NETS[net]["batch"]
        variants = {"mmagan module (device data, fused Adam)": base}
        if gpu and net == "conv":
            variants["mmagan module (device data, fused Adam)"] = base + ["trainer.speed.channels_last=true"]
        if not gpu:  # each switch against its off position
            variants.update(
                {
                    "  switch: Adam foreach": [
                        "trainer.speed.device_data=true",
                        "trainer.speed.optimizer=foreach",
                    ],
                    "  switch: Adam single-tensor": [
                        "trainer.speed.device_data=true",
                        "trainer.speed.optimizer=single",
                    ],
                    "  switch: DataLoader (device_data off)": ["trainer.speed.optimizer=fused"],
                }
            )
            if net == "conv":
                variants["  switch: channels_last on"] = base + ["trainer.speed.channels_last=true"]
        plain, results = [], {name: [] for name in variants}
        for _ in range(args.repeats):  # alternate so drifts in machine load hit every loop
            plain.append(plain_seconds(args, net, data))
            for name, switches in variants.items():
                results[name].append(module_seconds(args, net, data, switches))
        best_plain = min(plain)
        label = "DCGAN 32x32, B=M=64" if net == "conv" else "PacGAN MLP, ring, B=100, M=64"
        print(f"| **{label}** | | | | |")
        print(row("plain PyTorch (fastest hand loop)", best_plain, batch, None))
        for name, times in results.items():
            print(row(name, min(times), batch, best_plain))


if __name__ == "__main__":
    main()
