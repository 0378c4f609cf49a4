"""MAD-GAN (Ghosh, Kulharia, Namboodiri, Torr, Dokania, CVPR 2018): k generators and a D with k + 1
softmax outputs, "made by G_j" (j = 1..k) and "real". D learns which generator made a fake (and
that reals are real); each generator is trained to make D say "real". A batch of fakes is split
among the generators in contiguous parts (nets.multi_generator.generator_index), so the labels
come from positions alone.

    L_D = -E_x log D_{k+1}(x) - E_j E_z log D_j(G_j(z))
    L_G = -E_j E_z log D_{k+1}(G_j(z))          (non-saturating)
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from mmagan.checks import Checks, int_at_least
from mmagan.nets.multi_generator import generator_index
from mmagan.objectives.base import Losses, Objective, check_logits


class MADGANObjective(Objective):
    name = "madgan"
    role = "remedy"
    checks: Checks = {
        "num_generators": (int_at_least(2), "an integer >= 2 (k)"),
        "share": (lambda v: isinstance(v, bool), "true or false"),
    }

    def __init__(self, num_generators: int = 8, share: bool = False) -> None:
        self.num_generators = int(num_generators)
        self.num_heads = self.num_generators + 1  # k generators and "real", the last output
        self.share_generators = bool(share)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Losses:
        k = self.num_generators
        check_logits(real_logits, k + 1, "real")
        check_logits(fake_logits, k + 1, "fake")
        real = -F.log_softmax(real_logits, dim=1)[:, k].mean()
        made_by = generator_index(fake_logits.shape[0], k, fake_logits.device)
        fake = F.cross_entropy(fake_logits, made_by)
        return real + fake, {"d_real": real.detach(), "d_fake": fake.detach()}

    def g_loss(self, fake_logits: Tensor, div_logits: Tensor | None = None) -> Losses:
        check_logits(fake_logits, self.num_generators + 1, "fake")
        adv = -F.log_softmax(fake_logits, dim=1)[:, self.num_generators].mean()
        return adv, {"g_adv": adv.detach()}
