"""Evaluation throughput: FID + IS + KID from one feature pass against one pass per metric, and
LPIPS diversity from shared features against one lpips.LPIPS call per pair.

    python benchmarks/eval_throughput.py [--samples 2000] [--resolution 32] [--random-weights]
    python benchmarks/eval_throughput.py --samples 50000 --end-to-end   # FID-50k + IS-50k, GPU

--random-weights runs the same networks with random weights (same cost; no download needed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from mmagan.metrics.fidelity import FidelitySettings, fidelity_metrics
from mmagan.metrics.lpips_diversity import load_lpips, lpips_diversity


def random_inception(path: Path) -> None:
    """Inception weights of the right shapes, random (unit running variances): same cost, no download."""
    state = {}
    for name, shape in _inception_state_shapes().items():
        state[name] = torch.ones(shape) if "running_var" in name else torch.randn(shape) * 0.01
    torch.save(state, path)


def _inception_state_shapes() -> dict[str, tuple]:
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    original = fe.load_state_dict_from_url
    fe.load_state_dict_from_url = lambda *a, **k: None
    shapes = {}

    class Probe(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, *a, **k):
            shapes.update({k: tuple(v.shape) for k, v in self.state_dict().items()})

    try:
        Probe("inception-v3-compat", ["2048"])
    finally:
        fe.load_state_dict_from_url = original
    return shapes


def timed(fn) -> tuple[float, object]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def end_to_end(args, settings: FidelitySettings, real: torch.Tensor, device: str) -> None:
    """FID + IS of a DCGAN generator's --samples images as mmagan-eval runs them: generated on the
    device in batches of 500, handed to torch-fidelity there; the real statistics cached first."""
    from mmagan.nets.dcgan import DCGANGenerator
    from mmagan.sampler import Sampler, quantize

    sampler = Sampler(DCGANGenerator(100, args.resolution), 100, (3, args.resolution, args.resolution)).to(
        device
    )

    def evaluate() -> dict:
        z = sampler.latents(args.samples, seed=0)
        fake = torch.cat([quantize(sampler(chunk)) for chunk in z.split(500)])
        return fidelity_metrics(fake, ["fid", "is"], settings, real=real, real_key="e2e")

    t_first, _ = timed(evaluate)  # computes and caches the real set's features
    t, out = timed(evaluate)
    print(f"FID + IS of {args.samples} generated images, generation included: {t:.1f} s with the real")
    print(f"statistics cached ({t_first:.1f} s the first time, computing them)  {out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--lpips-samples", type=int, default=256)
    p.add_argument("--minibatch", type=int, default=64)
    p.add_argument("--random-weights", action="store_true")
    p.add_argument("--end-to-end", action="store_true", help="only FID + IS on --samples vs --samples real")
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator().manual_seed(0)
    shape = (args.samples, 3, args.resolution, args.resolution)
    fake = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    real = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        weights = None
        if args.random_weights:
            weights = str(Path(tmp) / "inception-random.pth")
            random_inception(Path(weights))
        settings = FidelitySettings(weights_path=weights, cache_dir=tmp, progress=False, batch_size=250)
        settings.kid_subset_size = min(1000, args.samples)
        print(f"device {device}, {args.samples} samples at {args.resolution}x{args.resolution}")
        if args.end_to_end:
            end_to_end(args, settings, real, device)
            return
        n = 2 * args.samples
        t_one, _ = timed(
            lambda: fidelity_metrics(fake, ["fid", "is", "kid"], settings, real=real, real_key="a")
        )
        t_sep = 0.0
        for i, m in enumerate(("fid", "is", "kid")):
            t, _ = timed(lambda m=m, i=i: fidelity_metrics(fake, [m], settings, real=real, real_key=f"s{i}"))
            t_sep += t
        print(f"{'evaluation':<44}{'seconds':>9}{'images/s':>11}")
        print(f"{'FID+IS+KID, one feature pass':<44}{t_one:>9.2f}{n / t_one:>11.0f}")
        print(f"{'FID, IS, KID, one pass each':<44}{t_sep:>9.2f}{(n + n // 2 + n) / t_sep:>11.0f}")
        print(f"{'ratio (separate / one pass)':<44}{t_sep / t_one:>9.2f}")

        model = load_lpips(random_trunk=True).to(device) if args.random_weights else load_lpips().to(device)
        x = fake[: args.lpips_samples].to(device).float() / 127.5 - 1
        t_shared, shared = timed(lambda: lpips_diversity(model, x, args.minibatch))
        pairs = int(shared["lpips_pairs"])

        def per_pair():
            values = []
            for chunk in x.split(args.minibatch):
                i, j = torch.triu_indices(len(chunk), len(chunk), offset=1)
                for a in range(0, len(i), 256):  # batched pairs, two forward passes per pair
                    values.append(model(chunk[i[a : a + 256]], chunk[j[a : a + 256]]).flatten())
            return torch.cat(values).mean().item()

        t_pair, mean_pair = timed(lambda: torch.no_grad()(per_pair)())
        print(f"{'LPIPS diversity, shared features':<44}{t_shared:>9.2f}{pairs / t_shared:>11.0f} pairs/s")
        print(f"{'LPIPS diversity, lpips.LPIPS per pair':<44}{t_pair:>9.2f}{pairs / t_pair:>11.0f} pairs/s")
        print(f"{'ratio (per pair / shared)':<44}{t_pair / t_shared:>9.2f}")
        print(f"same value: {shared['lpips_diversity']:.6f} vs {mean_pair:.6f} over {pairs} pairs")


if __name__ == "__main__":
    main()
