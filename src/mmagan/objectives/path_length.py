"""StyleGAN2's path-length regulariser (Karras et al. 2020): the Jacobian of G's image with respect
to w, applied to a random image-space direction, should have the same length for every w. Like R1
it works beside any objective, so the training step adds it; it needs a style-based G (a w)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def path_length_penalty(
    generator: nn.Module, z: Tensor, pl_mean: Tensor, decay: float
) -> tuple[Tensor, Tensor, Tensor]:
    """(mean (|J_w^T y| - a)^2, the updated running mean a, the lengths |J_w^T y| per sample).

    y is image-space noise scaled by 1 / sqrt(H W), J_w the Jacobian of G's image with respect to
    its ws (style mixing included, as in the official code), |.| the root of the squared norm
    summed over w's width and averaged over the ws. a moves towards the batch's mean length by
    `decay` (a lerp on the device: no host read). The gradient stays in the graph (G learns it).
    """
    ws = generator.training_ws(z)
    images = generator.synthesize(ws)
    noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.square().sum(2).mean(1).sqrt()
    new_mean = pl_mean.lerp(lengths.mean().detach(), decay)
    return (lengths - new_mean).square().mean(), new_mean, lengths
