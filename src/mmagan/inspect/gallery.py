"""The gallery of vectors made visible (rows): the vector's source sample with its patch marked,
the base sample, full replace and grid replace at block sizes 1, 2, 3 (columns), ranked by each
vector's tileability: how much of its look survives being repeated."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmagan.inspect.layers import InspectError, module_at
from mmagan.inspect.surgery import FULL, tiled, writing
from mmagan.inspect.vectors import VectorBank
from mmagan.sampler import Sampler

GRIDS = (1, 2, 3)
# The paper scores tileability between the block-2 image and the full-replace image.
TILEABILITY_GRID = 2
EXTRACTORS = ("d", "inception", "pixels")

Features = Callable[[Tensor], Tensor]


@torch.no_grad()
def visualize(sampler: Sampler, bank: VectorBank, vector: Tensor, z: Tensor, grids=(FULL, *GRIDS)) -> Tensor:
    """(len(grids), C, H, W): the sample of latent z (1, latent_dim) with `vector` written at each
    grid size (0: everywhere), one forward pass each, no optimisation."""
    out = []
    for g in grids:
        values, mask = tiled(vector, bank.layer, g)
        with writing(module_at(sampler.net, bank.layer), values, mask):
            out.append(sampler(z)[0])
    return torch.stack(out)


def source_patch(bank: VectorBank, i: int, image_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1) in image pixels: the area of the source sample that vector i's position
    covers at the layer's resolution."""
    _, h, w = bank.layer.shape
    _, y, x = bank.index[i].tolist()
    height, width = image_hw
    return y * height // h, x * width // w, (y + 1) * height // h, (x + 1) * width // w


def mark(image: Tensor, box: tuple[int, int, int, int]) -> Tensor:
    """The image with a one-pixel red frame around box (y0, x0, y1, x1), drawn in [-1, 1]."""
    out = image.clone() if image.shape[0] == 3 else image.expand(3, -1, -1).clone()
    y0, x0, y1, x1 = box
    y1, x1 = max(y1 - 1, y0), max(x1 - 1, x0)
    red = torch.tensor([1.0, -1.0, -1.0])[:, None]
    out[:, y0, x0 : x1 + 1] = red
    out[:, y1, x0 : x1 + 1] = red
    out[:, y0 : y1 + 1, x0] = red
    out[:, y0 : y1 + 1, x1] = red
    return out


def d_features(discriminator: nn.Module, packing: int = 1) -> Features:
    """The run's own D up to its heads: the input of its last linear layer (`head`)."""
    if packing != 1:
        raise InspectError(
            f"extractor 'd' needs a D that judges one sample at a time; this one takes packs of {packing}"
        )
    head = getattr(discriminator, "head", None)
    if head is None:
        raise InspectError(
            f"extractor 'd': {type(discriminator).__name__} has no `head` layer to read features before"
        )
    seen: list[Tensor] = []

    def one(x: Tensor) -> Tensor:
        handle = head.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
        try:
            discriminator(x)
        finally:
            handle.remove()
        return seen.pop().flatten(1)

    def features(x: Tensor) -> Tensor:
        # Image by image: a D with a minibatch layer (StyleGAN's minibatch std) mixes a batch's
        # images, and an image's score would depend on what it was judged beside.
        return torch.cat([one(x[i : i + 1]) for i in range(x.shape[0])])

    return features


def pixel_features(x: Tensor) -> Tensor:
    """Images flattened to vectors: the `pixels` extractor, for G's without a discriminator."""
    return x.flatten(1)


def inception_features(weights_path: str | None = None) -> Features:
    """torch-fidelity's Inception-v3 pool features (2048-d); where the weights are neither found
    nor downloadable, the metrics' one-line error (fidelity.weights_path)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from mmagan.metrics.fidelity import INCEPTION
    from mmagan.metrics.weights import inception_weights
    from mmagan.sampler import quantize

    extractor = FeatureExtractorInceptionV3(
        INCEPTION, ["2048"], feature_extractor_weights_path=str(inception_weights(weights_path))
    ).eval()

    def features(x: Tensor) -> Tensor:
        images = quantize(x)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return extractor(images)[0].flatten(1)

    return features


@torch.no_grad()
def tileability(
    sampler: Sampler, bank: VectorBank, ids: list[int], features: Features = pixel_features
) -> Tensor:
    """Per vector id, in [-1, 1]: the cosine similarity between the features of the block-2 image
    and of the full-replace image, each made on the vector's own source latent (Herdt and Maass).
    Near 1: a few tiles already look like the vector written everywhere (a texture); low: the
    repeated vector makes something else (an object part stretched or cut)."""
    n = int(bank.index[:, 0].max()) + 1
    latents = sampler.latents(n, seed=bank.seed)
    scores = []
    for i in ids:
        latent = int(bank.index[i, 0])
        full, block = visualize(
            sampler, bank, bank.vector(i), latents[latent : latent + 1], (FULL, TILEABILITY_GRID)
        )
        a, b = features(torch.stack([block, full]))
        scores.append(F.cosine_similarity(a.flatten(), b.flatten(), dim=0).clamp(-1, 1))  # rounding
    return torch.stack(scores)


@torch.no_grad()
def gallery_images(sampler: Sampler, bank: VectorBank, ids: list[int], base_seed: int, grids=GRIDS) -> Tensor:
    """(len(ids), 3 + len(grids), C, H, W): per vector its source sample with the patch marked,
    the base sample, full replace and each block size, on the base latent."""
    n = int(bank.index[:, 0].max()) + 1
    sources = sampler(sampler.latents(n, seed=bank.seed))
    z = sampler.latents(1, seed=base_seed)
    base = sampler(z)[0]
    rows = []
    for i in ids:
        source = sources[int(bank.index[i, 0])]
        marked = mark(source, source_patch(bank, i, tuple(source.shape[-2:])))
        shown = visualize(sampler, bank, bank.vector(i), z, (FULL, *grids))
        as_rgb = (lambda t: t.expand(-1, 3, -1, -1)) if base.shape[0] == 1 else (lambda t: t)
        rows.append(torch.cat([marked[None], as_rgb(base[None]), as_rgb(shown)]))
    return torch.stack(rows)
