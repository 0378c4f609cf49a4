"""MAD-GAN: the k + 1-way losses by hand, which generator makes which sample, shared generators."""

import math

import pytest
import torch

from mmagan.nets.mlp import MLPGenerator
from mmagan.nets.multi_generator import MultiGenerator, generator_index, part_sizes
from mmagan.objectives import build_objective


def log_softmax(row):
    top = math.log(sum(math.exp(v) for v in row))
    return [v - top for v in row]


def test_d_and_g_losses_match_hand_computation():
    obj = build_objective("madgan", num_generators=2)
    assert obj.num_heads == 3
    real = torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 0.0]])
    fake = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.5, 1.0], [1.0, 1.0, -1.0]])  # made by G_1, G_1, G_2
    loss_d, terms = obj.d_loss(real, fake)
    expect_real = -(log_softmax([0.0, 1.0, 2.0])[2] + log_softmax([1.0, 0.0, 0.0])[2]) / 2
    expect_fake = (
        -(
            log_softmax([2.0, 0.0, 0.0])[0]
            + log_softmax([0.0, 0.5, 1.0])[0]
            + log_softmax([1.0, 1.0, -1.0])[1]
        )
        / 3
    )
    assert terms["d_real"].item() == pytest.approx(expect_real, rel=1e-6)
    assert loss_d.item() == pytest.approx(expect_real + expect_fake, rel=1e-6)
    loss_g, _ = obj.g_loss(fake)
    expect_g = -sum(log_softmax(r)[2] for r in fake.tolist()) / 3
    assert loss_g.item() == pytest.approx(expect_g, rel=1e-6)


def test_a_batch_is_split_among_the_generators_in_contiguous_parts():
    assert part_sizes(10, 4) == [3, 3, 2, 2]
    assert generator_index(10, 4).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3]

    class Constant(torch.nn.Module):
        def __init__(self, j):
            super().__init__()
            self.j, self.latent_dim = j, 2

        def forward(self, z):
            return torch.full((z.shape[0], 2), float(self.j))

    g = MultiGenerator([Constant(j) for j in range(4)])
    made = g(torch.randn(10, 2))[:, 0]
    assert made.tolist() == generator_index(10, 4).float().tolist()


def test_shared_generators_have_one_trunk_and_k_last_layers():
    gens = [MLPGenerator(2, 2, [8, 8], batch_norm=True) for _ in range(3)]
    shared = MultiGenerator(gens, share=True)
    separate = MultiGenerator([MLPGenerator(2, 2, [8, 8]) for _ in range(3)])
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    last = 8 * 2 + 2
    assert count(shared) == count(gens[0]) + 2 * last and count(separate) == 3 * count(gens[0])
    out = shared(torch.randn(9, 2))
    assert out.shape == (9, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in shared.parameters())


def test_madgan_trains_from_the_command_line_config_and_refuses_too_small_batches(make_cfg):
    from mmagan.build import build
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    run = build(
        make_cfg(
            "model=madgan", "model.objective.num_generators=4", "iterations=3", "trainer.val_check_interval=3"
        )
    )
    assert run.module.generator.num_generators == 4 and run.module.discriminator.head.out_features == 5
    run.trainer.fit(run.module, datamodule=run.datamodule)
    figures = run.trainer.callback_metrics
    assert 0 <= float(figures["modes/modes_per_generator"]) <= 8  # the ring's 8 modes
    assert list((run.run_dir / "plots").glob("generators_over_modes_iter*.png"))  # the table's picture
    with pytest.raises(
        ConfigError, match=r"num_generators=8 needs at least 16 samples per step .* data.batch_size=10"
    ):
        validate_config(make_cfg("model=madgan", "data.batch_size=10"))
    with pytest.raises(ConfigError, match=r"model.objective.num_generators=1 is invalid"):
        validate_config(make_cfg("model=madgan", "model.objective.num_generators=1"))


def test_the_generator_mode_table_counts_each_generator_s_high_quality_samples_by_mode():
    from mmagan.metrics.generator_modes import generator_mode_counts, generator_mode_figures

    modes = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    first = torch.tensor([[0.1, 0.0], [0.0, -0.2], [5.0, 5.0]])  # two at mode 0, one far from all
    second = torch.tensor([[10.0, 0.1], [0.1, 9.9], [9.8, 0.0]])  # modes 1, 2, 1
    counts = generator_mode_counts([first, second], modes, std=0.1, threshold=3.0)
    assert counts.tolist() == [[2, 0, 0], [0, 2, 1]]
    figures = generator_mode_figures(counts)
    assert figures["modes/modes_per_generator"] == 1.5  # one mode and two
    assert figures["modes/generators_per_mode"] == 1.0  # no mode shared: the generators split them


def test_sample_from_runs_every_latent_through_one_generator():
    torch.manual_seed(0)
    gens = [MLPGenerator(2, 2, [4], batch_norm=False) for _ in range(3)]
    multi, z = MultiGenerator(gens, share=False), torch.randn(5, 2)
    assert torch.equal(multi.sample_from(2, z), gens[2](z))
