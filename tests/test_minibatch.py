"""D's minibatch layers by hand computation, on both nets, and where they are refused."""

import math

import pytest
import torch

from mmagan.nets.minibatch import MinibatchDiscrimination, MinibatchStddev


def test_minibatch_discrimination_matches_hand_computation():
    layer = MinibatchDiscrimination(in_features=2, kernels=2, kernel_dim=1)
    with torch.no_grad():
        layer.T.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))  # M_i = (f_i0, 2 f_i1)
    f = torch.tensor([[0.0, 0.0], [1.0, 0.5], [3.0, 0.0]])
    out = layer(f)
    m = [[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]]
    expect = [[sum(math.exp(-abs(m[i][b] - m[j][b])) for j in range(3)) for b in range(2)] for i in range(3)]
    assert out.shape == (3, 4) and layer.out_features == 4
    torch.testing.assert_close(out[:, :2], f)
    torch.testing.assert_close(out[:, 2:], torch.tensor(expect))
    same = layer(torch.ones(4, 2))[:, 2:]  # a collapsed batch: every sample close to every other
    torch.testing.assert_close(same, torch.full((4, 2), 4.0))


def test_minibatch_stddev_appends_the_mean_standard_deviation_over_the_batch():
    f = torch.tensor([[0.0, 1.0], [2.0, 1.0]])
    out = MinibatchStddev(2)(f)
    expect = (math.sqrt(1.0 + 1e-8) + math.sqrt(0.0 + 1e-8)) / 2  # feature 0: sd 1, feature 1: sd 0
    torch.testing.assert_close(out[:, 2], torch.full((2,), expect))
    torch.testing.assert_close(out[:, :2], f)


@pytest.mark.parametrize("kind,extra", [("discrimination", 7), ("stddev", 1)])
def test_both_nets_take_the_layer_and_score_a_sample_by_its_batch(make_cfg, kind, extra):
    from mmagan.build import build_model
    from mmagan.config import compose

    mlp, _ = build_model(make_cfg(f"net.d_minibatch={kind}", "net.d_minibatch_kernels=7"))
    d = mlp.discriminator
    assert d.head.in_features == 32 + extra
    x = torch.randn(6, 2)
    alone, with_others = d(x[:1]), d(x)[:1]
    assert not torch.allclose(alone, with_others)  # the same sample, judged within another batch
    conv = compose(
        "train",
        ["data=stacked_digits", "net=dcgan", "net.g_width=8", "net.d_width=8", f"net.d_minibatch={kind}"]
        + ["net.d_minibatch_kernels=7", "paths.output_dir=/nonexistent"],
    )
    from mmagan.nets import nets_for
    from mmagan.objectives import build_objective

    _, d = nets_for(conv.net, (3, 32, 32), build_objective(**conv.model.objective))
    assert d.head.in_features == 8 * 4 * 4 * 4 + extra and d(torch.randn(5, 3, 32, 32)).shape == (5, 8)


def test_no_minibatch_layer_leaves_the_nets_as_they_were(make_cfg):
    from mmagan.build import build_model

    module, _ = build_model(make_cfg())
    d = module.discriminator
    assert isinstance(d.minibatch, torch.nn.Identity) and d.head.in_features == 32
    assert not any("minibatch" in k for k in d.state_dict())  # old checkpoints still load


def test_a_minibatch_layer_is_refused_with_a_gradient_penalty_and_bad_values_in_one_line(make_cfg):
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"net.d_minibatch='stddev' is invalid with model.objective.name='wgan_gp'"
    ):
        validate_config(make_cfg("model=wgan_gp", "net.d_minibatch=stddev"))
    with pytest.raises(ConfigError, match=r"net.d_minibatch='batch' is invalid: must be one of"):
        validate_config(make_cfg("net.d_minibatch=batch"))
    validate_config(make_cfg("model=dcgan", "net.d_minibatch=discrimination", "ms.weight=1"))
