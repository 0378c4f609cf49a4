"""The style-based generator, the residual D, R1 and perceptual path length."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from mmagan.errors import ConfigError
from mmagan.metrics.lpips_diversity import load_lpips
from mmagan.metrics.ppl import lpips_distance, path_lengths, perceptual_path_length
from mmagan.nets.residual_d import ResidualDiscriminator, minibatch_std
from mmagan.nets.stylegan import RESOLUTIONS, STYLE_MODES, StyleGenerator, num_style_layers, style_blocks
from mmagan.regularizers.r1 import r1_penalty

SMALL = dict(latent_dim=16, w_dim=12, mapping_depth=2, channel_base=256, channel_max=16)


def small_g(resolution=32, **kw) -> StyleGenerator:
    torch.manual_seed(0)
    return StyleGenerator(resolution=resolution, **{**SMALL, **kw})


@pytest.mark.parametrize("mode", STYLE_MODES)
@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_output_shape_range_and_w_width_at_every_resolution(resolution, mode):
    g = small_g(resolution, style_mode=mode, channels=3)
    z = torch.randn(3, SMALL["latent_dim"])
    x = g(z)
    assert x.shape == (3, 3, resolution, resolution)
    assert x.abs().max() <= 1 and x.std() > 0.05  # in the sample range, and not a constant
    assert g.mapping(z).shape == (3, SMALL["w_dim"])
    assert g.ws(z).shape == (3, num_style_layers(resolution), SMALL["w_dim"])
    d = ResidualDiscriminator(resolution, 3, out_features=5, channel_base=256, channel_max=16)
    assert d(x).shape == (3, 5)


@pytest.mark.parametrize("mode", STYLE_MODES)
def test_fixed_noise_repeats_and_noise_changes_the_image_less_than_w(mode):
    g = small_g(style_mode=mode).eval()
    for layer in g.synthesis.layers:
        layer.noise_strength.data.fill_(0.05)  # trained StyleGANs learn small per-channel noise scales
    ws, other = g.ws(torch.randn(8, 16)), g.ws(torch.randn(8, 16))
    with torch.no_grad():
        assert torch.equal(g.synthesize(ws, "const"), g.synthesize(ws, "const"))
        a, b = g.synthesize(ws, "random"), g.synthesize(ws, "random")
        noise_change = (a - b).abs().mean()
        w_change = (a - g.synthesize(other, "random")).abs().mean()
    assert 0 < noise_change < 0.25 * w_change


def test_style_mixing_figure_has_sources_a_on_top_and_b_down_the_side():
    """The paper's layout: A's images across the top row, B's down the first column, and each cell
    A's column with B's row's styles in that block's layers (the rest A's), recomputed by hand."""
    from mmagan.inspect.style import style_mixing
    from mmagan.sampler import Sampler

    net = small_g(mixing_prob=0.0).eval()
    g = Sampler(net=net, latent_dim=16, sample_shape=(3, 32, 32), config={}, iteration=0, ema=False)
    table, row_labels, col_labels = style_mixing(g, rows=2, cols=3, seed=5)
    with torch.no_grad():
        ws_a, ws_b = net.ws(g.latents(3, 5)), net.ws(g.latents(2, 6))
        torch.testing.assert_close(table[0, 1:], net.synthesize(ws_a, "const"))
        blocks = list(style_blocks(32, net.style_mode).items())
        assert table.shape[:2] == (1 + 2 * len(blocks), 4)
        for b, (name, (start, stop)) in enumerate(blocks):
            for i in range(2):
                row = 1 + 2 * b + i
                torch.testing.assert_close(table[row, 0], net.synthesize(ws_b[i : i + 1], "const")[0])
                mixed = ws_a.clone()
                mixed[:, start:stop] = ws_b[i, start:stop]
                torch.testing.assert_close(table[row, 1:], net.synthesize(mixed, "const"))
                assert row_labels[row] == f"B{i}: {name} from B"
    assert row_labels[0] == "sources A" and col_labels == ["sources B", "A0", "A1", "A2"]


def test_inspection_images_repeat_under_random_noise_and_leave_the_caller_s_stream_alone():
    """With noise_mode=random, the sampler draws G's noise from a seed: the same latent gives the
    same image call after call (a painting differs from its base only where it wrote), `sample`
    repeats per seed and differs between seeds, and nothing drawn outside shifts."""
    from mmagan.sampler import Sampler

    net = small_g(noise_mode="random").eval()
    for layer in net.synthesis.layers:
        layer.noise_strength.data.fill_(0.05)
    g = Sampler(net=net, latent_dim=16, sample_shape=(3, 32, 32))
    z = g.latents(2, seed=3)
    first = g(z)
    assert torch.equal(g(z), first)
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    g(z)
    assert torch.equal(torch.rand(4), expected)  # the caller's random stream is where it was
    assert torch.equal(g.sample(5, seed=1, batch_size=2), g.sample(5, seed=1, batch_size=2))
    with torch.no_grad():
        noise_only = (net(z) - net(z)).abs().max()  # the net alone draws new noise each time
    assert noise_only > 0
    other_noise = Sampler(net=net, latent_dim=16, sample_shape=(3, 32, 32), noise_seed=1)(z)
    assert not torch.equal(other_noise, first)


def test_d_features_judge_each_image_alone_under_minibatch_std():
    """StyleGAN's D mixes a batch through its minibatch std: the gallery's features of an image
    must not depend on the images judged beside it."""
    from mmagan.inspect.gallery import d_features

    torch.manual_seed(0)
    d = ResidualDiscriminator(32, 3, out_features=2, channel_base=256, channel_max=16, mbstd_group=4).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    features = d_features(d)
    with torch.no_grad():
        together = features(x)
        alone = torch.cat([features(x[:1]), features(x[1:])])
        torch.testing.assert_close(together, alone, rtol=0, atol=1e-6)
        mixed = torch.cat([x[:1], torch.rand(3, 3, 32, 32)])  # beside other images: unchanged
        torch.testing.assert_close(features(mixed)[:1], alone[:1], rtol=0, atol=1e-6)


def test_style_mixing_crossover_selects_each_source():
    g = small_g().eval()
    wa, wb = g.ws(torch.randn(4, 16)), g.ws(torch.randn(4, 16))
    with torch.no_grad():
        at_first = g.synthesize(g.mix(wa, wb, 0), "const")
        assert torch.equal(at_first, g.synthesize(wb, "const"))
        assert torch.equal(g.synthesize(g.mix(wa, wb, g.num_ws), "const"), g.synthesize(wa, "const"))
        halfway = g.mix(wa, wb, 3)
    assert torch.equal(halfway[:, :3], wa[:, :3]) and torch.equal(halfway[:, 3:], wb[:, 3:])


def test_training_mixes_styles_at_a_crossover_after_the_first_layer():
    g = small_g(mixing_prob=1.0).train()
    seen = []
    g.synthesis.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
    z = torch.randn(5, 16)
    g(z)
    ws = seen[0]
    w = g.mapping(z).detach()
    assert torch.allclose(ws[:, 0], w)  # the first layer always keeps the first latent
    assert not torch.allclose(ws[:, -1], w)  # with probability 1 the last takes the second one


def test_psi_zero_gives_w_avg_image_and_untrained_truncation_is_refused():
    g = small_g()
    with pytest.raises(ConfigError, match="truncation psi=0.5 needs w_avg"):
        g.eval()(torch.randn(2, 16), psi=0.5)
    g.train()(torch.randn(32, 16))  # one training batch: w_avg is now the batch's mean w
    assert int(g.w_avg_updates) == 1 and g.w_avg.abs().sum() > 0
    g.eval()
    with torch.no_grad():
        images = g(torch.randn(6, 16), psi=0.0, noise_mode="const")
        expected = g.synthesize(g.w_avg.expand(1, g.num_ws, -1), "const")
    assert torch.allclose(images, expected.expand_as(images), atol=1e-5)  # batched conv rounding


@pytest.mark.parametrize("mode", STYLE_MODES)
def test_truncated_sampling_under_bf16_autocast(mode):
    g = small_g(style_mode=mode, truncation_psi=0.7)
    with torch.autocast("cpu", torch.bfloat16):
        g.train()(torch.randn(4, 16))
        x = g.eval()(torch.randn(4, 16))
    assert x.shape == (4, 3, 32, 32) and torch.isfinite(x.float()).all()


def test_style_blocks_cover_every_layer_once():
    for resolution in RESOLUTIONS:
        blocks = style_blocks(resolution)
        layers = [i for start, stop in blocks.values() for i in range(start, stop)]
        assert layers == list(range(num_style_layers(resolution)))
    assert style_blocks(256)["coarse"] == (0, 4)  # the paper's 4-8 px
    assert style_blocks(256)["middle"] == (4, 8)  # 16-32 px


def test_modulated_4x4_block_is_stylegan2_s_one_styled_conv_and_ws_follow_the_official_map():
    from mmagan.nets.stylegan import ws_resolutions

    ada, mod = small_g(style_mode="adain"), small_g(style_mode="modulated")
    assert [len(b) for b in ada.synthesis.blocks] == [2, 2, 2, 2]  # StyleGAN: const styled, then a conv
    assert [len(b) for b in mod.synthesis.blocks] == [1, 2, 2, 2]  # StyleGAN2: one conv at 4x4
    assert mod.synthesis.layers[0].weight is not None and ada.synthesis.layers[0].weight is None
    # Official StyleGAN2 at 32 px: conv1@4 w0, torgb@4 w1; conv0/conv1@8 w1, w2, torgb w3; ... 8 ws.
    assert mod.num_ws == 8 and mod.synthesis.layer_ws == list(range(7))
    assert mod.synthesis.rgb_ws == [1, 3, 5, 7]
    assert ada.synthesis.rgb_ws == [1, 3, 5, 7] and ada.synthesis.layer_ws == list(range(8))
    assert ws_resolutions(32, "modulated") == [4, 8, 8, 16, 16, 32, 32, 32]
    assert ws_resolutions(32, "adain") == [4, 4, 8, 8, 16, 16, 32, 32]
    assert [num_style_layers(r) for r in (32, 64, 128, 256)] == [8, 10, 12, 14]
    # the style-mixing split follows the map: at 256 px coarse = 4-8 px, middle = 16-32 px
    assert style_blocks(256, "modulated") == {"coarse": (0, 3), "middle": (3, 7), "fine": (7, 14)}
    assert style_blocks(256, "adain") == {"coarse": (0, 4), "middle": (4, 8), "fine": (8, 14)}
    assert style_blocks(32, "modulated") == {"coarse": (0, 1), "middle": (1, 5), "fine": (5, 8)}


def upfirdn_numpy(x, up, down, pad):
    """upfirdn2d by its definition on one (H, W) array: insert up - 1 zeros after each sample, pad,
    correlate with the normalised [1, 3, 3, 1] outer product (times up^2), keep every down-th."""
    import numpy as np

    k = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(float)
    k = k / k.sum() * up * up
    h, w = x.shape
    z = np.zeros((h * up, w * up))
    z[::up, ::up] = x
    z = np.pad(z, ((pad[0], pad[1]), (pad[0], pad[1])))
    out = np.zeros((z.shape[0] - 3, z.shape[1] - 3))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (z[i : i + 4, j : j + 4] * k[::-1, ::-1]).sum()
    return out[::down, ::down]


def test_filtered_resampling_equals_a_direct_numpy_upfirdn():
    from mmagan.nets.resample import downsample2d, upsample2d

    x = torch.randn(2, 3, 8, 6, dtype=torch.float64)
    up, down = upsample2d(x, "filtered"), downsample2d(x, "filtered")
    assert up.shape == (2, 3, 16, 12) and down.shape == (2, 3, 4, 3)
    for n in range(2):
        for c in range(3):
            a = x[n, c].numpy()
            np_up = upfirdn_numpy(a, up=2, down=1, pad=(2, 1))  # StyleGAN2's upsample2d padding
            np_down = upfirdn_numpy(a, up=1, down=2, pad=(1, 1))  # and downsample2d's
            torch.testing.assert_close(up[n, c], torch.from_numpy(np_up))
            torch.testing.assert_close(down[n, c], torch.from_numpy(np_down))
    # a constant image stays constant inside (the gains keep the mean)
    ones = torch.ones(1, 1, 8, 8)
    assert torch.allclose(upsample2d(ones, "filtered")[..., 2:-2, 2:-2], torch.ones(1, 1, 12, 12))


def test_resample_auto_is_filtered_for_stylegan2_and_bilinear_for_adain():
    assert small_g(style_mode="modulated").resample == "filtered"
    assert small_g(style_mode="adain").resample == "bilinear"
    assert small_g(style_mode="modulated", resample="bilinear").resample == "bilinear"


def test_minibatch_std_appends_the_group_std_for_any_batch_size():
    x = torch.randn(6, 4, 2, 2)  # group 4 does not divide 6: groups of 3
    y = minibatch_std(x, group_size=4)
    assert y.shape == (6, 5, 2, 2)
    groups = x.reshape(3, 2, 4, 2, 2)  # sample i is in group i % 2
    expected = groups.std(0, unbiased=False).mean([1, 2, 3])
    assert torch.allclose(y[:, 4, 0, 0], expected.repeat(3), atol=1e-5)


class Quadratic(nn.Module):
    """D_k(x) = c_k * sum(x^2): grad_x sum_k D_k = 2 (sum_k c_k) x."""

    def __init__(self, c):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, x):
        return x.square().flatten(1).sum(1, keepdim=True) * self.c


def test_r1_equals_a_hand_computation():
    d = Quadratic([0.5, -0.2, 0.3])
    x = torch.randn(4, 3, 2, 2)
    r1, logits = r1_penalty(d, x, gamma=10.0)
    hand = 10.0 / 2 * np.mean([((2 * 0.6 * xi.numpy()) ** 2).sum() for xi in x])
    assert math.isclose(float(r1), hand, rel_tol=1e-5)
    assert torch.allclose(logits, d(x))
    r1.backward()  # D learns from the penalty: its parameters get a gradient
    assert d.c.grad is not None and d.c.grad.abs().sum() > 0


class IgnoresInput(nn.Module):
    latent_dim = 8

    def __init__(self):
        super().__init__()
        self.image = nn.Parameter(torch.rand(1, 3, 32, 32) * 2 - 1)

    def forward(self, z):
        return self.image.expand(z.shape[0], -1, -1, -1)


def test_ppl_is_zero_for_a_generator_that_ignores_its_input():
    lpips = load_lpips(random_trunk=True)
    values = perceptual_path_length(
        IgnoresInput(), lpips_distance(lpips), 20, ("z", "w"), "full", batch_size=8
    )
    assert values == {"ppl_z_full": 0.0}  # W is skipped: not a style-based generator


class LinearStyle(nn.Module):
    """mapping = identity, image = A w: d/dt G(lerp(w0, w1, t)) = A (w1 - w0) exactly."""

    latent_dim, num_ws = 6, 2

    def __init__(self):
        super().__init__()
        self.A = nn.Parameter(torch.randn(3 * 4 * 4, 6, generator=torch.Generator().manual_seed(1)))

    def mapping(self, z):
        return z

    def synthesize(self, ws, noise_mode=None):
        return (ws[:, 0] @ self.A.T).reshape(-1, 3, 4, 4)


def test_ppl_of_a_linear_generator_matches_the_hand_computation():
    g = LinearStyle().double()
    squared = lambda a, b: (a - b).square().flatten(1).sum(1)  # noqa: E731
    values = path_lengths(g, squared, 200, space="w", sampling="full", epsilon=1e-4, batch_size=64, seed=3)
    gen = torch.Generator().manual_seed(3)  # the same pairs, drawn in the same order
    hand = []
    for n in (64, 64, 64, 8):
        a = torch.randn(n, 6, generator=gen, dtype=torch.float64)
        b = torch.randn(n, 6, generator=gen, dtype=torch.float64)
        torch.rand(n, 1, generator=gen, dtype=torch.float64)  # t: irrelevant for a linear map
        hand.append(((b - a) @ g.A.detach().T).square().sum(1))
    hand = torch.cat(hand).numpy()
    assert np.allclose(values.numpy(), hand, rtol=1e-6)
    lo, hi = np.percentile(hand, 1, method="lower"), np.percentile(hand, 99, method="higher")
    from mmagan.metrics.ppl import filtered_mean

    assert math.isclose(filtered_mean(values), hand[(hand >= lo) & (hand <= hi)].mean(), rel_tol=1e-6)
    assert filtered_mean(values) < hand.mean()  # the largest 1% really were dropped


def test_ppl_in_w_needs_a_style_based_generator():
    with pytest.raises(ConfigError, match="PPL in 'w' needs a style-based generator"):
        path_lengths(IgnoresInput(), lambda a, b: a.sum(), 4, space="w")


@pytest.mark.parametrize(
    "override, message",
    [
        ("net.style_mode=adaptive", "net.style_mode='adaptive' is invalid: must be one of"),
        ("net.mapping_depth=0", "net.mapping_depth=0 is invalid: must be an integer >= 1"),
        ("net.mixing_prob=1.5", r"net.mixing_prob=1.5 is invalid: must be a number in \[0, 1\]"),
        ("net.truncation_psi=2", r"net.truncation_psi=2 is invalid"),
        (
            "net.truncation_cutoff=9",
            r"net.truncation_cutoff=9 is invalid: must be null or an integer in \[1, 8\]",
        ),
        ("r1.gamma=-1", "r1.gamma=-1 is invalid"),
        ("callbacks.ppl.sampling=middle", "callbacks.ppl.sampling='middle' is invalid"),
        ("trainer.speed.compile=true", "trainer.speed.compile=true is invalid with r1.gamma=0.01"),
    ],
)
def test_bad_stylegan_values_are_one_line_config_errors(make_cfg, override, message):
    from mmagan.build import build

    with pytest.raises(ConfigError, match=message):
        build(make_cfg("experiment=stacked_digits_stylegan", "net=stylegan", "data.num_samples=64", override))


def test_ppl_in_w_alone_for_a_dcgan_run_is_refused_before_training(make_cfg):
    from helpers import TINY_STACKED_DIGITS

    from mmagan.build import build

    cfg = make_cfg(*TINY_STACKED_DIGITS, "callbacks.ppl.enabled=true", "callbacks.ppl.random_trunk=true",
                   "callbacks.ppl.spaces=[w]")  # fmt: skip
    with pytest.raises(ConfigError, match=r"callbacks.ppl.spaces=\['w'\] is invalid for this generator"):
        build(cfg)


def test_stylegan_net_refuses_vector_data(make_cfg):
    from mmagan.build import build

    with pytest.raises(ConfigError, match="net.name='stylegan' needs square images"):
        build(make_cfg("net=stylegan"))


@pytest.mark.slow  # over ten seconds on two cores
def test_short_mmagan_fit_with_the_stylegan_generator(tmp_path):
    """Through the composed config: R1, EMA, PPL at validation, the figures at the end, and the
    checkpoint serving load_generator, the figure commands and mmagan-eval's PPL."""
    from helpers import TINY_STYLEGAN

    from mmagan.config import compose
    from mmagan.evaluate import evaluate
    from mmagan.inspect.cli import inspect_main
    from mmagan.runs.checkpoints import load_generator
    from mmagan.train import train

    run = tmp_path / "run"
    cfg = compose(
        "train",
        [
            *TINY_STYLEGAN,
            "model=mmagan",
            "iterations=6",
            "trainer.log_every_n_steps=2",
            "trainer.val_check_interval=6",
            "r1.gamma=1.0",
            "r1.interval=2",
            "model.ema.enabled=true",
            "net.truncation_psi=0.7",
            "eval.num_samples=64",
            "eval.batch_size=64",
            "callbacks.ppl.enabled=true",
            "callbacks.ppl.random_trunk=true",
            "callbacks.ppl.num_samples=8",
            "callbacks.mode_coverage.enabled=false",  # no digit classifier to train
            f"paths.data_dir={tmp_path / 'data'}",
            f"paths.output_dir={run}",
        ],
    )
    train(cfg)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["finished"] == 1 and metrics["iteration"] == 6
    assert metrics["metrics/ppl_z_end"] > 0 and metrics["metrics/ppl_w_end"] > 0
    assert metrics["train/r1"] > 0  # iterations 2, 4 and 6 both log and apply R1
    protocol = metrics["protocol"]  # what the figures compare under
    assert protocol["resampling"] == "bilinear" and protocol["truncation_psi"] == 0.7
    assert protocol["generator"] == "stylegan (adain)" and protocol["lpips"] == "alex v0.1"
    assert protocol["eval_samples"] == 64
    for name in ("style_mixing", "truncation", "noise"):
        assert (run / "plots" / f"{name}.png").stat().st_size > 1000

    g = load_generator(run / "checkpoints" / "last.ckpt")
    assert isinstance(g.net, StyleGenerator) and g.ema
    assert int(g.net.w_avg_updates) > 0 and g.net.truncation_psi == 0.7
    assert g.sample(3, seed=1).shape == (3, 3, 32, 32)
    out = tmp_path / "mix.png"
    inspect_main(["style-mixing", str(run / "checkpoints" / "last.ckpt"), "--out", str(out)])
    assert out.stat().st_size > 1000

    report = evaluate(
        compose(
            "eval",
            [
                f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}",
                "metrics=[ppl]",
                "lpips.random_trunk=true",
                "ppl.num_samples=8",
                f"eval_dir={tmp_path / 'eval'}",
            ],
        )
    )
    assert set(report["metrics"]) == {"ppl_z_end", "ppl_w_end"}
    assert report["protocol"]["ppl"].startswith("end points")
    assert report["protocol"]["resampling"] == "bilinear" and report["protocol"]["truncation_psi"] == 0.7


def test_path_length_penalty_equals_a_finite_difference_jacobian():
    """|J_w^T y| by central differences over every coordinate of ws (float64), y the image-space
    noise the penalty draws (the same seed), against path_length_penalty's autograd."""
    from mmagan.regularizers.path_length import path_length_penalty

    torch.manual_seed(0)
    g = StyleGenerator(
        resolution=32, latent_dim=4, w_dim=4, mapping_depth=1, channel_base=64, channel_max=4,
        style_mode="modulated", mixing_prob=0.0, noise_mode="none",
    ).double()  # fmt: skip
    z = torch.randn(2, 4, dtype=torch.float64)
    pl_mean = torch.tensor(0.5, dtype=torch.float64)
    torch.manual_seed(7)
    penalty, new_mean, lengths = path_length_penalty(g, z, pl_mean, decay=0.01)
    torch.manual_seed(7)
    y = torch.randn(2, 3, 32, 32, dtype=torch.float64) / 32  # 1 / sqrt(H W)
    ws = g.training_ws(z).detach()
    eps = 1e-6
    jty = torch.zeros_like(ws)
    with torch.no_grad():
        for n in range(2):
            for i in range(ws.shape[1]):
                for j in range(ws.shape[2]):
                    up, down = ws.clone(), ws.clone()
                    up[n, i, j] += eps
                    down[n, i, j] -= eps
                    diff = (g.synthesize(up)[n] - g.synthesize(down)[n]) / (2 * eps)
                    jty[n, i, j] = (diff * y[n]).sum()
    hand = jty.square().sum(2).mean(1).sqrt()
    torch.testing.assert_close(lengths.detach(), hand, rtol=1e-6, atol=1e-9)
    mean = 0.5 + 0.01 * (hand.mean() - 0.5)
    torch.testing.assert_close(new_mean, mean)
    torch.testing.assert_close(penalty.detach(), (hand - mean).square().mean(), rtol=1e-6, atol=1e-12)
    assert penalty.requires_grad  # G learns from it


def test_path_length_regularisation_runs_lazily_and_is_logged(make_cfg):
    from helpers import TINY_STYLEGAN

    from mmagan.build import build
    from mmagan.runs.sweep_jobs import read_metrics

    run = build(
        make_cfg(*TINY_STYLEGAN, "net.style_mode=modulated", "iterations=4", "pl.interval=2",
                 "trainer.log_every_n_steps=4", "callbacks.mode_coverage.enabled=false")
    )  # fmt: skip
    calls = []
    import mmagan.regularizers.path_length as pl

    original = pl.path_length_penalty
    pl.path_length_penalty = lambda *a, **k: calls.append(a[1].shape[0]) or original(*a, **k)
    try:
        run.trainer.fit(run.module, datamodule=run.datamodule)
    finally:
        pl.path_length_penalty = original
    batch = run.datamodule.batch_size
    assert calls == [batch // 2, batch // 2]  # iterations 2 and 4, on half the batch
    figures = read_metrics(run.run_dir)
    assert figures["train/pl_mean"] > 0 and "train/pl_penalty" in figures
    assert float(run.module.regularizers["pl"].mean) == pytest.approx(figures["train/pl_mean"], rel=1e-6)


def test_path_length_needs_a_style_based_generator_and_no_compile(make_cfg):
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"pl.weight=2 needs a style-based generator \(net=stylegan\)"):
        validate_config(make_cfg("pl.weight=2"))
    from helpers import TINY_STYLEGAN

    auto_on = r"trainer.speed.compile=true is invalid with pl.weight=2 \(auto for net=stylegan\)"
    with pytest.raises(ConfigError, match=auto_on):
        validate_config(make_cfg(*TINY_STYLEGAN, "net.style_mode=modulated", "trainer.speed.compile=true"))


def test_ppl_redraws_the_noise_per_batch_and_restores_g_s_own():
    from mmagan.metrics.ppl import path_lengths

    g = small_g(style_mode="modulated").eval()
    own = g.synthesis.layers[1].noise_const.clone()
    seen = []
    synthesize = g.synthesize

    def spy(ws, noise_mode=None):
        seen.append(g.synthesis.layers[1].noise_const.clone())
        return synthesize(ws, noise_mode)

    g.synthesize = spy
    values = path_lengths(g, lambda a, b: (a - b).square().mean((1, 2, 3)), 6, space="w", batch_size=3)
    assert values.shape == (6,) and len(seen) == 2
    assert not torch.equal(seen[0], seen[1])  # a new draw for each batch
    assert not torch.equal(seen[0], own) and torch.equal(g.synthesis.layers[1].noise_const, own)
