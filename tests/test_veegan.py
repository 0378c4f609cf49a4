"""VEEGAN (Algorithm 1): its three losses by hand on fixed tensors, its pairs, and a short fit in
which D judges pairs and F learns through G's optimizer, on points and on images."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mmagan.build import build
from mmagan.errors import ConfigError
from mmagan.nets.veegan import ReconstructingGenerator
from mmagan.objectives.veegan import Reconstruction, VEEGANObjective
from mmagan.regularizers.base import PhaseBatch


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_d_loss_tells_generated_pairs_label_1_from_data_pairs_label_0():
    real, fake = torch.tensor([[0.5], [-1.0]]), torch.tensor([[2.0], [0.0]])
    loss, terms = VEEGANObjective().d_loss(real, fake)
    # -log sigmoid(f) for generated pairs (label 1), -log(1 - sigmoid(r)) for data pairs (label 0)
    hand = (softplus(-2.0) + softplus(-0.0)) / 2 + (softplus(0.5) + softplus(-1.0)) / 2
    assert loss.item() == pytest.approx(hand)
    assert terms["d_generated_pairs"].item() == pytest.approx(1.0)


def test_g_loss_is_d_s_raw_logit_on_generated_pairs():
    loss, _ = VEEGANObjective().g_loss(torch.tensor([[2.0], [-0.5], [0.3]]))
    assert loss.item() == pytest.approx((2.0 - 0.5 + 0.3) / 3)


def test_reconstruction_is_the_mean_squared_distance_to_f_of_g_of_z():
    f = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        f.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))  # F(x) = (x1, 2 x2)
    g = ReconstructingGenerator(nn.Identity(), f)
    z = torch.tensor([[1.0, 1.0], [0.0, -1.0]])
    fake = torch.tensor([[1.0, 0.0], [2.0, -1.0]], requires_grad=True)
    penalty, terms = Reconstruction(weight=3.0)(PhaseBatch(g, None, None, z, fake))
    # F(fake) = (1, 0), (2, -2); ||z - F||^2 = 0 + 1, 4 + 1 -> mean 3
    assert terms["reconstruction"].item() == pytest.approx(3.0) and penalty.item() == pytest.approx(9.0)
    penalty.backward()
    assert fake.grad is not None and f.weight.grad is not None  # G and F both learn from it


def test_d_judges_pairs_of_latent_and_sample():
    g = ReconstructingGenerator(nn.Identity(), nn.Linear(2, 3))
    obj, z, x = VEEGANObjective(), torch.randn(4, 3), torch.randn(4, 2)
    assert torch.equal(obj.fake_input(x, z), torch.cat([z, x], 1))
    assert torch.equal(obj.real_input(x, g), torch.cat([g.reconstructor(x), x], 1))


def test_a_short_fit_trains_f_with_g_and_d_on_pairs(make_cfg):
    run = build(make_cfg("model=veegan", "iterations=6", "net.latent_dim=3"))
    m = run.module
    assert m.discriminator(torch.randn(4, 2 + 3)).shape == (4, 1)  # D takes the sample's width and z's
    f_before = [p.detach().clone() for p in m.generator.reconstructor.parameters()]
    run.trainer.fit(m, datamodule=run.datamodule)
    assert not all(torch.equal(a, b) for a, b in zip(f_before, m.generator.reconstructor.parameters()))
    assert {"train/reconstruction", "train/g_adv"} <= m.train_figures.keys()
    assert m(torch.randn(5, 3)).shape == (5, 2)  # sampling is G's alone


def test_a_d_regulariser_is_refused_in_one_line(make_cfg):
    from mmagan.config.validation import validate_config

    with pytest.raises(ConfigError, match=r"r1.gamma=1 is not supported with model.objective.name='veegan'"):
        validate_config(make_cfg("model=veegan", "r1.gamma=1", "r1.interval=1"))


def test_on_images_f_is_a_conv_encoder_and_d_reads_x_before_it_meets_z(make_cfg):
    from helpers import TINY_STACKED_DIGITS

    run = build(make_cfg(*TINY_STACKED_DIGITS, "model=veegan", "iterations=3", "net.latent_dim=6"))
    m = run.module
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert m.generator.reconstructor(x).shape == (4, 6)  # F: image -> latent
    m.discriminator.eval()
    pairs = torch.cat([torch.randn(4, 6), x.flatten(1)], 1)
    logits = m.discriminator(pairs)
    assert logits.shape == (4, 1)
    other_z, other_x = pairs.clone(), pairs.clone()
    other_z[:, :6] += 1.0
    other_x[:, 6:] = -other_x[:, 6:]
    with torch.no_grad():  # both halves of the row reach the logit: z and the image
        assert not torch.allclose(m.discriminator(other_z), logits)
        assert not torch.allclose(m.discriminator(other_x), logits)
    f_before = [p.detach().clone() for p in m.generator.reconstructor.parameters()]
    run.trainer.fit(m, datamodule=run.datamodule)
    assert not all(torch.equal(a, b) for a, b in zip(f_before, m.generator.reconstructor.parameters()))
    assert torch.isfinite(torch.tensor(m.train_figures["train/reconstruction"]))
    assert m(torch.randn(2, 6)).shape == (2, 3, 32, 32)
