import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from mmagan.nets import build_nets
from mmagan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from mmagan.nets.init import dcgan_init
from mmagan.nets.mlp import Maxout, MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("resolution", [32, 64, 128, 256])
def test_dcgan_shapes_per_resolution(resolution):
    g = DCGANGenerator(latent_dim=16, resolution=resolution, width=4)
    d = DCGANDiscriminator(resolution=resolution, width=4, out_features=7)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, 3, resolution, resolution)
    assert d(x).shape == (2, 7)
    assert d.head.out_features == 7  # D's last layer: fully connected with K outputs


def test_dcgan_32_matches_the_classic_layout():
    g = DCGANGenerator(latent_dim=100, resolution=32, width=64)
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [256, 128, 64, 3]


def test_unsupported_resolution_is_refused():
    with pytest.raises(ValueError, match="32, 64, 128, 256"):
        DCGANGenerator(resolution=48)


def test_critic_without_batch_norm():
    d = DCGANDiscriminator(resolution=32, width=4, norm="none")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    # Each critic output depends on its own input only: the gradient penalty's assumption.
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    d(x)[0].sum().backward()
    assert torch.count_nonzero(x.grad[1:]) == 0


def test_maxout_takes_the_max_piece():
    m = Maxout(1, 1, pieces=3)
    with torch.no_grad():
        m.linear.weight.copy_(torch.tensor([[1.0], [-1.0], [0.0]]))
        m.linear.bias.zero_()
    assert m(torch.tensor([[2.0], [-3.0]])).flatten().tolist() == [2.0, 3.0]


def test_pacgan_mlp_sizes():
    g, d = MLPGenerator(), MLPDiscriminator(out_features=8)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in g.modules()) == 4
    assert [m.out_features for m in d.modules() if isinstance(m, Maxout)] == [200, 200, 200]
    assert [m.pieces for m in d.modules() if isinstance(m, Maxout)] == [5, 5, 5]
    assert g(torch.randn(5, 2)).shape == (5, 2) and d(torch.randn(5, 2)).shape == (5, 8)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=100, resolution=64, width=64)
    dcgan_init(g)
    conv = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)][1]
    bn = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)][1]
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert bn.bias.abs().sum() == 0


def test_build_nets_uses_sample_shape_and_heads():
    cfg = OmegaConf.create(
        dict(name="dcgan", latent_dim=8, g_width=4, d_width=4, max_mult=8, d_norm="layer", init="dcgan")
    )
    g, d = build_nets(cfg, (1, 64, 64), num_heads=4)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, 1, 64, 64) and d(x).shape == (3, 4)
    assert any(isinstance(m, nn.GroupNorm) for m in d.modules())
