"""LPIPS diversity: mean LPIPS (AlexNet, v0.1 linear layers) over pairs of generated samples.

`lpips.LPIPS` runs the network on both images of every pair. For all pairs within a minibatch of
n samples that is n(n-1) forward passes; here each sample's features go through the network once
and every pair distance comes from them. Per layer, LPIPS is mean_hw sum_c w_c (f_i - f_j)^2 for
unit-normalised features f, which expands to a_i + a_j - 2 <w f_i, f_j> / HW: one matrix product per
layer gives the whole minibatch's distances. The lpips package offers no batched pairwise form.
"""

from __future__ import annotations

import math

import lpips
import torch
from torch import Tensor

from mmagan.metrics.weights import alexnet_weights


def load_lpips(trunk_weights_path: str | None = None, random_trunk: bool = False) -> lpips.LPIPS:
    """LPIPS(alex, v0.1) with the torchvision AlexNet trunk from torch hub's cache or the given file.

    `random_trunk` keeps the trunk random (tests: no download)."""
    model = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False)
    if not random_trunk:
        state = torch.load(alexnet_weights(trunk_weights_path), map_location="cpu", weights_only=True)
        # lpips splits torchvision's alexnet.features into slices that keep the layer indices.
        net_state = {k: state[f"features.{k.split('.', 1)[1]}"] for k in model.net.state_dict()}
        model.net.load_state_dict(net_state)
    return model.eval().requires_grad_(False)


@torch.no_grad()
def sample_features(model: lpips.LPIPS, images: Tensor) -> list[Tensor]:
    """Unit-normalised AlexNet features of images in [-1, 1], one tensor per LPIPS layer."""
    outs = model.net(model.scaling_layer(images))
    return [lpips.normalize_tensor(o) for o in outs]


@torch.no_grad()
def pairwise_lpips(model: lpips.LPIPS, images: Tensor) -> Tensor:
    """(n, n) LPIPS distances between all images of a minibatch, each image through the net once."""
    n = images.shape[0]
    dist = torch.zeros(n, n, dtype=torch.float64, device=images.device)
    for feats, lin in zip(sample_features(model, images), model.lins):
        w = lin.model[-1].weight.to(torch.float64).view(1, -1, 1, 1)  # the 1x1 conv, no bias
        f = feats.to(torch.float64)
        hw = f.shape[2] * f.shape[3]
        weighted = (w * f).flatten(1)
        flat = f.flatten(1)
        a = (weighted * flat).sum(1)
        dist += (a[:, None] + a[None, :] - 2 * weighted @ flat.T) / hw
    dist.fill_diagonal_(0)
    return dist.clamp_min_(0).float()


@torch.no_grad()
def lpips_diversity(model: lpips.LPIPS, samples: Tensor, minibatch: int = 64) -> dict[str, float]:
    """Mean LPIPS over all pairs within consecutive minibatches of `samples` (independent latents),
    its standard error (std of the pair distances / sqrt(pairs)) and the number of pairs."""
    values = []
    for chunk in samples.split(minibatch):
        if chunk.shape[0] < 2:
            continue
        d = pairwise_lpips(model, chunk)
        i, j = torch.triu_indices(len(chunk), len(chunk), offset=1, device=d.device)
        values.append(d[i, j].double().cpu())
    if not values:
        raise ValueError("LPIPS diversity needs at least 2 samples")
    v = torch.cat(values)
    se = float(v.std() / math.sqrt(len(v))) if len(v) > 1 else 0.0
    return {"lpips_diversity": float(v.mean()), "lpips_diversity_se": se, "lpips_pairs": float(len(v))}
