"""VEEGAN (Srivastava et al., NeurIPS 2017), Algorithm 1.

A reconstructor F maps samples back to latents; D tells generated pairs (z, G(z)) (label 1) from
data pairs (F(x), x) (label 0) with the logistic loss; G and F minimise D's raw logit on generated
pairs (its estimate of the KL term) plus the reconstruction error ||z - F(G(z))||^2, the term
that makes G cover what F can map back. For vector data (the ring, the grid) F and D are MLPs with
the net's widths; for images (any net) F is a DCGAN encoder to the latent and D reads x with
DCGAN's convolutions before it meets z.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from mmagan.checks import Checks, _is_number
from mmagan.nets.dcgan import DCGANDiscriminator
from mmagan.nets.init import dcgan_init
from mmagan.nets.mlp import MLPGenerator
from mmagan.nets.veegan import ImagePairDiscriminator, ReconstructingGenerator, pair
from mmagan.objectives.base import Losses, Objective, check_logits, mean_bce_with_logits
from mmagan.regularizers.base import PhaseBatch, Regularizer


def reconstruction_error(z: Tensor, z_hat: Tensor) -> Tensor:
    """(1/N) sum_i ||z_i - F(G(z_i))||^2."""
    return (z - z_hat).square().sum(1).mean()


class Reconstruction(Regularizer):
    """VEEGAN's reconstruction term in G's phase: through F (G's reconstructor) and G's fakes."""

    name = "reconstruction"
    phase = "G"

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__(interval=1)
        self.weight = float(weight)

    def forward(self, batch: PhaseBatch) -> tuple[Tensor, dict[str, Tensor]]:
        error = reconstruction_error(batch.z, batch.generator.reconstructor(batch.fake))
        return self.weight * error, {"reconstruction": error.detach()}


class VEEGANObjective(Objective):
    name = "veegan"
    d_judges_pairs = True
    role = "remedy"
    checks: Checks = {
        "reconstruction_weight": (lambda v: _is_number(v) and v > 0, "a number > 0 (Algorithm 1: 1)"),
    }

    def __init__(self, reconstruction_weight: float = 1.0) -> None:
        self.reconstruction_weight = float(reconstruction_weight)

    def wrap_nets(self, generator: nn.Module, discriminator: nn.Module, net_cfg: Any, sample_shape):
        latent = net_cfg.latent_dim
        if len(sample_shape) == 1:  # vector data: MLPs with the net's widths
            from mmagan.nets import build_nets

            dim = sample_shape[0]
            _, pair_d = build_nets(net_cfg, (dim + latent,), 1, True, 1)  # D on (z, x): z's width more
            reconstructor = MLPGenerator(dim, latent, list(net_cfg.g_hidden), batch_norm=False)
        else:  # images: DCGAN's convolutions whatever G is (its widths where the net has them)
            channels, resolution = sample_shape[0], sample_shape[-1]
            width, max_mult = net_cfg.get("d_width", 64), net_cfg.get("max_mult", 8)
            conv = lambda out: DCGANDiscriminator(resolution, channels, width, out, "batch", max_mult)  # noqa: E731
            pair_d = ImagePairDiscriminator(conv(4 * width), 4 * width, latent, sample_shape, 4 * width)
            reconstructor = conv(latent)  # an encoder: DCGAN's D with the latent's width as output
            if net_cfg.get("init") == "dcgan":
                dcgan_init(pair_d)
                dcgan_init(reconstructor)
        return ReconstructingGenerator(generator, reconstructor), pair_d

    def real_input(self, real: Tensor, generator: nn.Module) -> Tensor:
        return pair(generator.reconstructor(real), real)

    def fake_input(self, fake: Tensor, z: Tensor) -> Tensor:
        return pair(z, fake)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Losses:
        check_logits(real_logits, 1, "real")
        check_logits(fake_logits, 1, "fake")
        loss = mean_bce_with_logits(fake_logits, 1.0) + mean_bce_with_logits(real_logits, 0.0)
        return loss, {
            "d_generated_pairs": fake_logits.mean().detach(),
            "d_data_pairs": real_logits.mean().detach(),
        }

    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        check_logits(fake_logits, 1, "fake")
        adv = fake_logits.mean()  # D's raw logit: VEEGAN's estimate of the KL term
        return adv, {"g_adv": adv.detach()}

    def regularizers(self) -> list[Regularizer]:
        return [Reconstruction(self.reconstruction_weight)]
