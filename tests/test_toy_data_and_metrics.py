import math

import pytest
import torch

from mmagan.data.toy import ToyDataModule, grid, ring
from mmagan.errors import ConfigError
from mmagan.metrics.mode_coverage import mode_coverage


def test_ring_and_grid_follow_the_pacgan_protocol():
    r = ring()
    assert r.modes.shape == (8, 2) and r.std == 0.01
    torch.testing.assert_close(r.modes.norm(dim=1), torch.ones(8))
    g = grid()
    assert g.modes.shape == (25, 2) and g.std == 0.05
    assert sorted(set(g.modes[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_datamodule_is_deterministic_and_batches_per_step():
    a = ToyDataModule("grid", num_samples=1000, batch_size=10, batches_per_step=5, seed=3)
    b = ToyDataModule("grid", num_samples=1000, batch_size=10, batches_per_step=5, seed=3)
    a.setup(), b.setup()
    assert torch.equal(a.train_set.tensors[0], b.train_set.tensors[0])
    batch = next(iter(a.train_dataloader()))
    assert batch.shape == (50, 2)  # one step = 5 critic batches of 10
    assert len(a.train_dataloader()) == 20
    # the same batches from the set held on the device (here the CPU), without a DataLoader
    fast = ToyDataModule(
        "grid", num_samples=1000, batch_size=10, batches_per_step=5, seed=3, device_data=True
    )
    fast.shuffle_seed = a.shuffle_seed
    fast.setup()
    assert torch.equal(next(iter(fast.train_dataloader())), batch)


def test_too_few_samples_for_one_step():
    with pytest.raises(ConfigError, match="data.num_samples=100"):
        ToyDataModule("ring", num_samples=100, batch_size=64, batches_per_step=5)


def test_unknown_mixture_parameter():
    with pytest.raises(ConfigError, match="data.mixture.radiuss"):
        ToyDataModule("ring", num_samples=1000, batch_size=10, mixture={"radiuss": 2})


def test_all_modes_covered_by_data_itself():
    mix = ring()
    figures = mode_coverage(mix.sample(2500, torch.Generator().manual_seed(0)), mix.modes, mix.std)
    assert figures["modes"] == 8
    # A 2-D Gaussian holds 1 - exp(-9/2) = 98.89% of its mass within 3 std (binomial sd 0.21 here).
    assert figures["high_quality_pct"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.65)
    assert figures["reverse_kl"] < 0.01


def test_collapse_onto_two_modes():
    mix = grid()
    samples = torch.cat([mix.modes[3].repeat(300, 1), mix.modes[7].repeat(100, 1), torch.full((100, 2), 1.0)])
    figures = mode_coverage(samples, mix.modes, mix.std)
    assert figures["modes"] == 2
    assert figures["high_quality_pct"] == pytest.approx(80.0)
    p = torch.tensor([0.75, 0.25])
    assert figures["reverse_kl"] == pytest.approx(float((p * (p * 25).log()).sum()))


def test_no_high_quality_sample():
    mix = ring()
    figures = mode_coverage(torch.full((10, 2), 5.0), mix.modes, mix.std)
    assert figures == {"modes": 0.0, "high_quality_pct": 0.0, "reverse_kl": math.log(8)}
