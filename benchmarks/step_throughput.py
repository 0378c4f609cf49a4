"""The MMA-GAN training step: mmagan's Lightning module against the fastest plain PyTorch loop.

Two nets: DCGAN 32x32 (B = M = 64, K = 8; CIFAR-10's shape and count, random images) and PacGAN's
MLPs on the ring (B = 100, M = 64, K = 8). The plain loop is what a careful hand-written script
does: fused Adam, no host read in the step, the data set on the device with batches taken by an
on-device permutation, channels_last for the conv nets. The module runs with the same switches
(conf/trainer/*.yaml `speed`); on the CPU each switch is also flipped. Module and plain iterations
alternate in blocks within one run, so that the machine's drifts in load hit both alike. Prints ms
per iteration, images/s, the plain loop's ms per iteration beside it, their ratio, and the projected
wall time of the CIFAR-10 protocol (100 epochs = 78,100 iterations at B = 64).

    python benchmarks/step_throughput.py [--iterations 40] [--warmup 5] [--block 2] [--repeats 1]
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
    """Wall time from the start of iteration `warmup` to the end of iteration `warmup + iterations`:
    the steady-state loop only, not the one-off work at the end of training (final snapshots, figures,
    the metrics file), which a real run spreads over thousands of iterations."""

    def __init__(self, warmup: int, iterations: int, device: str):
        self.warmup, self.iterations, self.device = warmup, iterations, device
        self.start, self.seconds = None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration == self.warmup:
            sync(self.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration == self.warmup + self.iterations:
            sync(self.device)
            self.seconds = time.perf_counter() - self.start


class PlainLoop:
    """The same math in the fastest loop we can write by hand (no Lightning): fused Adam, no host
    read, batches from an on-device permutation of the data set on the device."""

    def __init__(self, args, net: str, data: torch.Tensor, channels_last: bool) -> None:
        self.device, dev = args.device, torch.device(args.device)
        with tempfile.TemporaryDirectory() as tmp:
            run = build(config(args, net, Path(tmp) / "run", []))  # the same nets and objective
        m = run.module
        G, D = m.generator.to(dev), m.discriminator.to(dev)
        self.channels_last = channels_last
        if channels_last:
            G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        if args.compile:
            G.compile(), D.compile()
        self.G, self.D, self.obj, self.conv = G, D, m.objective, net == "conv"
        opt = m.settings.optimizer
        self.opt_d = torch.optim.Adam(D.parameters(), opt.lr_d, betas=opt.betas, fused=True)
        self.opt_g = torch.optim.Adam(G.parameters(), opt.lr_g, betas=opt.betas, fused=True)
        self.B, self.M, self.latent = NETS[net]["batch"], self.obj.diversity_batch_size, m.latent_dim
        self.autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.precision == "bf16-mixed")
        self.source = self._batches(data.to(dev))
        self.seconds(args.warmup)

    def _batches(self, on_device: torch.Tensor):
        epoch = 0
        while True:
            order = epoch_order(len(on_device), 0, epoch, on_device.device)
            for b in range(len(order) // self.B):
                yield on_device[order[b * self.B : (b + 1) * self.B]]
            epoch += 1

    def step(self, real: torch.Tensor) -> None:
        G, D, obj, dev = self.G, self.D, self.obj, real.device
        real = real.float().div_(127.5).sub_(1) if self.conv else real
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        z = torch.randn(self.B, self.latent, device=dev)
        G.requires_grad_(False)
        with self.autocast:
            with torch.no_grad():
                fake = G(z)
            loss_d, _ = obj.d_loss(D(real), D(fake))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        G.requires_grad_(True)
        D.requires_grad_(False)
        with self.autocast:
            loss_g, _ = obj.g_loss(D(G(z)), D(G(torch.randn(self.M, self.latent, device=dev))))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        D.requires_grad_(True)

    def seconds(self, iterations: int) -> float:
        sync(self.device)
        start = time.perf_counter()
        for _ in range(iterations):
            self.step(next(self.source))
        sync(self.device)
        return time.perf_counter() - start


class Interleaved(L.Callback):
    """Times the module's iterations in blocks, running as many plain iterations after each block:
    drifts in machine load (large on a shared 2-core host) then hit both loops alike. Only the
    steady-state loop is timed, not the one-off work at the end of training."""

    def __init__(self, plain: PlainLoop, warmup: int, iterations: int, block: int) -> None:
        self.plain, self.warmup, self.iterations, self.block = plain, warmup, iterations, block
        self.module_s = self.plain_s = 0.0
        self.start, self.done = 0.0, 0

    def _stop(self, iteration: int) -> None:
        sync(self.plain.device)
        self.module_s += time.perf_counter() - self.start
        pending, self.done = iteration - self.warmup - self.done, iteration - self.warmup
        self.plain_s += self.plain.seconds(pending)

    def _start(self) -> None:
        sync(self.plain.device)
        self.start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        i = pl_module.iteration
        if i > self.warmup and (i - self.warmup) % self.block == 0:
            self._stop(i)
        if i >= self.warmup and (i - self.warmup) % self.block == 0:
            self._start()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration == self.warmup + self.iterations:
            self._stop(pl_module.iteration)


def paired_seconds(args, net: str, data: torch.Tensor, switches: list[str], plain: PlainLoop):
    """(module, plain) seconds per iteration, measured interleaved in one run."""
    with tempfile.TemporaryDirectory() as tmp:
        run = build(config(args, net, Path(tmp) / "run", switches))
        dm = run.datamodule
        dm.prepare_data = lambda: None  # random data of the set's shape and count stand in
        dm.train_set = ImageArray(data) if net == "conv" else Points(data)
        timer = Interleaved(plain, args.warmup, args.iterations, args.block)
        run.trainer.callbacks.append(timer)
        run.trainer.fit(run.module, datamodule=dm)
        return timer.module_s / args.iterations, timer.plain_s / args.iterations


def row(name: str, seconds: float, batch: int, plain: float) -> str:
    hours = seconds * PROTOCOL_ITERATIONS / 3600
    return (
        f"| {name} | {seconds * 1e3:.2f} | {batch / seconds:,.0f} | {plain * 1e3:.2f} | "
        f"{plain / seconds:.3f} | {hours:.2f} |"
    )


def variants(net: str, gpu: bool, base: list[str]) -> dict[str, list[str]]:
    """The module with every switch the plain loop uses, and on the CPU each switch flipped."""
    conv = net == "conv"
    main = base + (["trainer.speed.channels_last=true"] if conv else [])
    out = {"mmagan module (all switches of the plain loop)": main}
    if not gpu:
        flipped = {
            "Adam foreach": "trainer.speed.optimizer=foreach",
            "Adam single-tensor": "trainer.speed.optimizer=single",
            "DataLoader (device_data off)": "trainer.speed.device_data=false",
        }
        if conv:
            flipped["channels_last off"] = "trainer.speed.channels_last=false"
        out.update({f"  switch: {name}": main + [switch] for name, switch in flipped.items()})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--block", type=int, default=2, help="module and plain iterations alternate in blocks")
    p.add_argument("--repeats", type=int, default=1, help="runs of each variant, pooled")
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
        f"{args.iterations} timed iterations x {args.repeats}, in blocks of {args.block} alternating "
        "with the plain loop"
    )
    print(
        "\n| loop | ms / iteration | images/s | plain loop, ms / iteration | ratio (plain / module) "
        "| 100 CIFAR epochs, h |"
    )
    print("|---|---|---|---|---|---|")
    for net in args.nets.split(","):
        data, batch = fake_data(net), NETS[net]["batch"]
        plain = PlainLoop(args, net, data, channels_last=net == "conv")
        label = "DCGAN 32x32, B=M=64" if net == "conv" else "PacGAN MLP, ring, B=100, M=64"
        print(f"| **{label}** | | | | | |")
        for name, switches in variants(net, gpu, base).items():
            pairs = [paired_seconds(args, net, data, switches, plain) for _ in range(args.repeats)]
            module_s, plain_s = (sum(x) / args.repeats for x in zip(*pairs))
            print(row(name, module_s, batch, plain_s), flush=True)


if __name__ == "__main__":
    main()
