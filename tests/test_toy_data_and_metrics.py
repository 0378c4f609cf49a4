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


def test_each_validation_scores_several_draws_and_reports_their_mean_and_spread(make_cfg):
    """modes/* is the mean over `draws` draws of eval.num_samples (the validation latents, then
    latents seeded eval.seed + d), with G in eval mode (batch norm's running statistics)."""
    import numpy as np

    from mmagan.build import build
    from mmagan.runs.sweep_jobs import read_metrics

    run = build(make_cfg("iterations=20", "trainer.val_check_interval=20", "callbacks.mode_coverage.draws=3"))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    module, mixture = run.module, run.datamodule.evaluation().mixture
    G = module.eval_generator.eval()
    latents = [module.eval_latents] + [
        torch.randn(500, module.latent_dim, generator=torch.Generator().manual_seed(1234 + d)) for d in (1, 2)
    ]
    with torch.no_grad():
        per_draw = [mode_coverage(G(z), mixture.modes, mixture.std) for z in latents]
    hq = [f["high_quality_pct"] for f in per_draw]
    assert len(set(hq)) > 1  # the draws differ: the spread is real
    figures = read_metrics(run.run_dir)
    assert figures["modes/high_quality_pct"] == pytest.approx(np.mean(hq), rel=1e-5)
    assert figures["modes/high_quality_pct_draw_std"] == pytest.approx(np.std(hq, ddof=1), rel=1e-5)
    assert figures["modes/modes"] == pytest.approx(np.mean([f["modes"] for f in per_draw]), rel=1e-5)
