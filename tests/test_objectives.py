import math

import pytest
import torch

from mmagan.objectives import OBJECTIVES, build_objective
from mmagan.objectives.mmagan import coverage_hinge, mode_activations
from mmagan.regularizers.gradient_penalty import gradient_penalty


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_gan_losses_match_hand_computation():
    real = torch.tensor([[2.0], [-1.0]])
    fake = torch.tensor([[0.5], [-3.0]])
    loss_d, terms = build_objective("gan").d_loss(real, fake)
    expect_real = -(math.log(sig(2.0)) + math.log(sig(-1.0))) / 2
    expect_fake = -(math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2
    assert loss_d.item() == pytest.approx(expect_real + expect_fake, rel=1e-6)
    assert terms["d_real"].item() == pytest.approx(expect_real, rel=1e-6)
    # Minimax G minimises E[log(1 - D(G(z)))]; non-saturating G minimises -E[log D(G(z))].
    saturating, _ = build_objective("gan").g_loss(fake)
    assert saturating.item() == pytest.approx(
        (math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2, rel=1e-6
    )
    ns, _ = build_objective("gan", non_saturating=True).g_loss(fake)
    assert ns.item() == pytest.approx(-(math.log(sig(0.5)) + math.log(sig(-3.0))) / 2, rel=1e-6)


def test_logits_far_from_zero_stay_finite():
    """Log terms come from logits: no log(0) where a sigmoid would round to 0 or 1."""
    real = torch.tensor([[-200.0]])
    fake = torch.tensor([[200.0]])
    loss_d, _ = build_objective("dcgan").d_loss(real, fake)
    assert loss_d.item() == pytest.approx(400.0, rel=1e-6)


def test_mmagan_losses_match_hand_computation():
    obj = build_objective("mmagan", num_heads=2, lambda_div=0.7, tau=0.6, diversity_batch_size=2)
    real = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    fake = torch.tensor([[-1.0, 0.5], [2.0, -0.5]])
    div = torch.tensor([[0.0, -2.0], [1.0, -1.0]])
    loss_d, _ = obj.d_loss(real, fake)
    lr = [[1.0, -2.0], [0.0, 3.0]]
    lf = [[-1.0, 0.5], [2.0, -0.5]]
    expect_d = (
        -sum(math.log(sig(v)) for row in lr for v in row) / 4
        - sum(math.log(1 - sig(v)) for row in lf for v in row) / 4
    )
    assert loss_d.item() == pytest.approx(expect_d, rel=1e-6)

    a1 = (sig(0.0) + sig(1.0)) / 2  # 0.6155 > tau: no hinge for head 1
    a2 = (sig(-2.0) + sig(-1.0)) / 2  # 0.1936 < tau
    adv = -sum(math.log(sig(v)) for row in lf for v in row) / 4
    expect_g = adv + 0.7 * (max(0, 0.6 - a1) + max(0, 0.6 - a2))
    loss_g, terms = obj.g_loss(fake, div)
    assert loss_g.item() == pytest.approx(expect_g, rel=1e-6)

    diag = obj.diagnostics(real, fake, div)
    assert diag["heads_below_tau"].item() == 1
    assert diag["heads/A_fake_0"].item() == pytest.approx(a1) and diag[
        "heads/A_fake_1"
    ].item() == pytest.approx(a2)
    assert diag["heads/A_real_1"].item() == pytest.approx((sig(-2.0) + sig(3.0)) / 2)
    assert diag["head_usage_entropy"].item() == 0.0  # head 0 fires most on both fakes


def test_mmagan_head_diagnostics_against_numpy():
    import numpy as np

    obj = build_objective("mmagan", num_heads=3, lambda_div=1.0, tau=0.5, diversity_batch_size=6)
    div = torch.tensor([[2.0, 0, -1], [0, 3, 1], [-1, 0, 2], [1, 2, 0], [2, -1, 1], [3, 1, 0]])
    diag = obj.diagnostics(torch.zeros(4, 3), torch.zeros(4, 3), div)
    act = 1 / (1 + np.exp(-div.numpy()))
    corr = np.corrcoef(act.T)
    assert diag["head_correlation"].item() == pytest.approx(corr[~np.eye(3, dtype=bool)].mean(), rel=1e-5)
    usage = np.bincount(act.argmax(1), minlength=3) / 6  # heads 0, 1, 2 win 3, 2 and 1 of the 6 fakes
    expect = -(usage * np.log(usage)).sum() / np.log(3)
    assert diag["head_usage_entropy"].item() == pytest.approx(expect, rel=1e-6)


def test_k1_lambda0_is_exactly_dcgan():
    torch.manual_seed(0)
    real, fake = torch.randn(16, 1), torch.randn(16, 1)
    mma = build_objective("mmagan", num_heads=1, lambda_div=0.0, tau=0.5)
    dc = build_objective("dcgan")
    assert torch.equal(mma.d_loss(real, fake)[0], dc.d_loss(real, fake)[0])
    assert torch.equal(mma.g_loss(fake, torch.randn(8, 1))[0], dc.g_loss(fake)[0])
    assert mma.diversity_batch_size == 0  # and the extra forward pass is skipped


def test_hinge_is_zero_when_every_head_reaches_tau():
    div = torch.full((32, 4), 2.0, requires_grad=True)  # sigmoid(2) = 0.88 >= tau
    hinge = coverage_hinge(mode_activations(div), tau=0.7)
    assert hinge.item() == 0.0
    hinge.backward()
    assert torch.count_nonzero(div.grad) == 0


def test_hinge_gradient_pushes_only_heads_below_tau():
    m, lam = 8, 0.5
    logits = torch.tensor([[3.0, -2.0, 0.0]]).repeat(m, 1).requires_grad_(True)
    obj = build_objective("mmagan", num_heads=3, lambda_div=lam, tau=0.6, diversity_batch_size=m)
    fake = torch.zeros(4, 3)
    loss, _ = obj.g_loss(fake, logits)
    loss.backward()
    # d/dl [lam * (tau - mean_i sigmoid(l_i))] = -lam * sigmoid'(l) / M for heads below tau.
    expect = torch.tensor([0.0, -lam * sig(-2.0) * (1 - sig(-2.0)) / m, -lam * 0.25 / m])
    torch.testing.assert_close(logits.grad, expect.expand(m, 3), rtol=1e-5, atol=1e-8)


def test_mmagan_needs_diversity_logits_when_lambda_positive():
    obj = build_objective("mmagan", num_heads=2, lambda_div=0.1)
    with pytest.raises(ValueError, match="div_logits"):
        obj.g_loss(torch.zeros(4, 2))


def test_head_count_mismatch_is_reported():
    obj = build_objective("mmagan", num_heads=4)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        obj.d_loss(torch.zeros(4, 1), torch.zeros(4, 1))


def test_wgan_losses():
    obj = build_objective("wgan_gp")
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[-1.0], [0.0]])
    loss_d, terms = obj.d_loss(real, fake)
    assert loss_d.item() == pytest.approx(-(2.0 - (-0.5)))
    assert terms["wasserstein"].item() == pytest.approx(2.5)
    assert obj.g_loss(fake)[0].item() == pytest.approx(0.5)
    assert obj.d_steps == 5 and not obj.d_batch_norm_ok


def test_gradient_penalty_of_linear_critic_is_norm_gap_squared():
    a = torch.tensor([3.0, 4.0])  # ||grad|| = 5 everywhere
    critic = lambda x: x.flatten(1) @ a[:, None]  # noqa: E731
    gp = gradient_penalty(critic, torch.randn(10, 2), torch.randn(10, 2))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_gradient_penalty_of_quadratic_critic_on_interpolates():
    # critic(x) = ||x||^2 / 2 has gradient x; with real == fake the interpolate is that sample.
    x = torch.tensor([[0.0, 2.0], [0.6, 0.8], [3.0, 0.0]])
    critic = lambda t: 0.5 * (t**2).sum(dim=1, keepdim=True)  # noqa: E731
    gp = gradient_penalty(critic, x, x.clone())
    assert gp.item() == pytest.approx(((2 - 1) ** 2 + 0 + (3 - 1) ** 2) / 3)


def test_gradient_penalty_backpropagates_into_the_critic():
    lin = torch.nn.Linear(2, 1)
    gp = gradient_penalty(lin, torch.randn(6, 2), torch.randn(6, 2))
    gp.backward()
    w = lin.weight.detach()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    torch.testing.assert_close(lin.weight.grad, 2 * (w.norm() - 1) * w / w.norm())


def test_every_objective_has_its_config_and_unknown_names_are_refused():
    from mmagan.config import compose

    for name in OBJECTIVES:  # a variant is one objective file plus one config file
        assert compose("train", [f"model={name}"]).model.objective.name == name
    with pytest.raises(KeyError, match="known"):
        build_objective("lsgan")


def test_pacgan_with_packs_of_one_is_exactly_dcgan():
    torch.manual_seed(0)
    real, fake = torch.randn(16, 1), torch.randn(16, 1)
    pac, dc = build_objective("pacgan", packing=1), build_objective("dcgan")
    x = torch.randn(6, 3, 4, 4)
    assert torch.equal(pac.pack(x), x)
    assert torch.equal(pac.d_loss(real, fake)[0], dc.d_loss(real, fake)[0])
    assert torch.equal(pac.g_loss(fake)[0], dc.g_loss(fake)[0])


@pytest.mark.parametrize("m", [2, 3, 4])
def test_pacgan_packs_consecutive_groups_of_m_as_published(m):
    obj = build_objective("pacgan", packing=m)
    points = torch.arange(12 * 2, dtype=torch.float32).reshape(12, 2)
    packed = obj.pack(points)
    assert packed.shape == (12 // m, 2 * m)
    for i in range(12 // m):  # pack i = samples i*m .. i*m + m - 1, side by side
        assert torch.equal(packed[i], torch.cat(list(points[i * m : (i + 1) * m])))
    images = torch.randn(12, 3, 8, 8)
    packed = obj.pack(images)
    assert packed.shape == (12 // m, 3 * m, 8, 8)
    assert torch.equal(packed[1, 3:6], images[m + 1])  # the second sample of the second pack


def test_pacgan_d_takes_packs_and_bad_packing_is_a_config_error(make_cfg):
    from mmagan.build import build
    from mmagan.errors import ConfigError

    run = build(make_cfg("model=pacgan", "model.objective.packing=2", "iterations=1"))  # B = 50
    seen = []
    run.module.discriminator.register_forward_hook(lambda mod, i, o: seen.append(tuple(i[0].shape)))
    run.trainer.fit(run.module, datamodule=run.datamodule)
    assert seen[:3] == [(25, 4), (25, 4), (25, 4)]  # real packs, fake packs, G step: 2-D points, 2 per pack
    with pytest.raises(ConfigError, match=r"model\.objective\.packing=3 is invalid with data\.batch_size=50"):
        build(make_cfg("model=pacgan", "model.objective.packing=3"))
    with pytest.raises(ConfigError, match=r"model\.objective\.packing=0 is invalid: must be an integer >= 1"):
        build(make_cfg("model=pacgan", "model.objective.packing=0"))


# ------------------------------------------------------------------------ MMA-GAN head variants
from mmagan.objectives.head_assignment import balanced_assignment  # noqa: E402


def test_balanced_assignment_fills_every_head_to_capacity_and_revives_a_dead_head():
    # Head 0 scores highest on every sample and head 3 is flat: argmax would give head 0 all ten.
    logits = torch.zeros(10, 4)
    logits[:, 0] = torch.linspace(5.0, 6.0, 10)
    logits[:, 1] = torch.linspace(2.0, 1.0, 10)
    logits[:, 2] = torch.linspace(0.0, 1.0, 10)
    heads = balanced_assignment(logits)
    counts = torch.bincount(heads, minlength=4)
    assert (heads >= 0).all()
    assert counts.tolist() == [3, 3, 3, 1]  # capacity ceil(10 / 4) = 3; the flat head gets the rest
    # Head 0 keeps the three samples it prefers most over the other heads (highest log-softmax).
    scores = torch.log_softmax(logits, 1)
    assert set((heads == 0).nonzero().flatten().tolist()) == set(scores[:, 0].topk(3).indices.tolist())


def test_balanced_assignment_keeps_a_clear_preference_when_heads_have_room():
    logits = torch.full((6, 3), -4.0)
    for i, k in enumerate([2, 0, 1, 1, 0, 2]):
        logits[i, k] = 4.0
    assert balanced_assignment(logits).tolist() == [2, 0, 1, 1, 0, 2]


def test_balanced_assignment_against_a_python_reference_on_random_logits():
    """The same rounds written as loops over samples: propose to the best head with room, each head
    keeps its best proposals."""
    g = torch.Generator().manual_seed(0)
    for b, k in [(64, 8), (100, 8), (13, 4), (7, 16)]:
        logits = torch.randn(b, k, generator=g) * 3
        scores = torch.log_softmax(logits, 1).tolist()
        room, assigned = [-(-b // k)] * k, [-1] * b
        for _ in range(k):
            proposals = {}
            for i in range(b):
                if assigned[i] < 0:
                    best = max((h for h in range(k) if room[h] > 0), key=lambda h: scores[i][h])
                    proposals.setdefault(best, []).append(i)
            for h, samples in proposals.items():
                kept = sorted(samples, key=lambda i: (-scores[i][h], i))[: room[h]]
                for i in kept:
                    assigned[i] = h
                room[h] -= len(kept)
        assert balanced_assignment(logits).tolist() == assigned, (b, k)


def test_balanced_real_term_uses_each_sample_on_its_head_scaled_by_one_over_k():
    obj = build_objective("mmagan", num_heads=2, real_assignment="balanced")
    real = torch.tensor([[3.0, -1.0], [-2.0, 1.0]])  # sample 0 -> head 0, sample 1 -> head 1
    fake = torch.tensor([[0.5, -0.5], [1.0, 2.0]])
    loss, terms = obj.d_loss(real, fake)
    expect_real = -(math.log(sig(3.0)) + math.log(sig(1.0))) / 2 / 2
    expect_fake = -sum(math.log(1 - sig(v)) for v in (0.5, -0.5, 1.0, 2.0)) / 4
    assert terms["d_real"].item() == pytest.approx(expect_real, rel=1e-6)
    assert loss.item() == pytest.approx(expect_real + expect_fake, rel=1e-6)


def test_best_head_generator_term_is_minus_log_of_the_highest_head():
    obj = build_objective("mmagan", num_heads=3, lambda_div=0.0, g_adversarial="best_head")
    fake = torch.tensor([[-1.0, 2.0, 0.0], [-3.0, -2.0, -4.0]])
    loss, _ = obj.g_loss(fake)
    assert loss.item() == pytest.approx(-(math.log(sig(2.0)) + math.log(sig(-2.0))) / 2, rel=1e-6)


def test_relative_hinge_holds_each_head_to_tau_times_its_running_mean_on_reals():
    obj = build_objective(
        "mmagan", num_heads=2, lambda_div=1.0, tau=0.5, hinge="relative", real_mean_decay=0.9
    )
    with pytest.raises(ValueError, match="needs a D step"):
        obj.g_loss(torch.zeros(2, 2), torch.zeros(2, 2))
    fake = torch.zeros(2, 2)
    r1 = torch.tensor([[2.0, -2.0], [0.0, -1.0]])
    r2 = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    obj.d_loss(r1, fake)  # first batch: the running mean starts at its mean activation
    obj.d_loss(r2, fake)
    abar = [
        0.9 * (sig(2.0) + sig(0.0)) / 2 + 0.1 * sig(1.0),
        0.9 * (sig(-2.0) + sig(-1.0)) / 2 + 0.1 * sig(1.0),
    ]
    assert obj.real_means.tolist() == pytest.approx(abar, rel=1e-6)
    div = torch.tensor([[-4.0, 0.0], [-6.0, 1.0]])
    a = [(sig(-4.0) + sig(-6.0)) / 2, (sig(0.0) + sig(1.0)) / 2]
    hinge = sum(max(0.0, math.log(0.5 * ab) - math.log(ak)) for ab, ak in zip(abar, a))
    adv = -sum(math.log(sig(v)) for v in (0.0,) * 4) / 4
    loss, terms = obj.g_loss(fake, div)
    assert terms["g_div"].item() == pytest.approx(hinge, rel=1e-5)
    assert loss.item() == pytest.approx(adv + hinge, rel=1e-5)
    assert hinge > 0 and a[1] > 0.5 * abar[1]  # head 0 is below its share, head 1 is not


def test_smooth_hinge_matches_hand_computation_and_tends_to_the_hinge():
    obj = build_objective("mmagan", num_heads=2, lambda_div=0.5, tau=0.6, hinge="smooth", smooth_beta=4.0)
    fake = torch.zeros(2, 2)
    div = torch.tensor([[-1.0, 2.0], [0.0, 1.0]], requires_grad=True)
    a = [(sig(-1.0) + sig(0.0)) / 2, (sig(2.0) + sig(1.0)) / 2]  # 0.366 below tau, 0.807 above
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    smooth = sum(softplus(4.0 * (0.6 - ak)) / 4.0 for ak in a)
    adv = math.log(2.0)  # -log sigmoid(0) on every head
    loss, terms = obj.g_loss(fake, div)
    assert terms["g_div"].item() == pytest.approx(smooth, rel=1e-6)
    assert loss.item() == pytest.approx(adv + 0.5 * smooth, rel=1e-6)
    loss.backward()
    assert (div.grad[:, 1] < 0).all()  # a head above tau is still pushed up, unlike the hinge
    sharp = build_objective("mmagan", num_heads=2, lambda_div=0.5, tau=0.6, hinge="smooth", smooth_beta=1e4)
    hinge = build_objective("mmagan", num_heads=2, lambda_div=0.5, tau=0.6)
    assert sharp.g_loss(fake, div)[1]["g_div"].item() == pytest.approx(
        hinge.g_loss(fake, div)[1]["g_div"].item(), abs=1e-4
    )
    assert obj.variant == "smooth(beta=4)"
    assert build_objective("mmagan", hinge="smooth").variant == "smooth"


def test_usage_entropy_is_minus_the_entropy_of_the_heads_mean_softmax():
    obj = build_objective("mmagan", num_heads=3, lambda_div=2.0, diversity="usage_entropy")
    div = torch.tensor([[0.0, 1.0, -1.0], [2.0, 0.0, 0.0]])
    rows = [[math.exp(v) for v in row] for row in div.tolist()]
    probs = [[v / sum(row) for v in row] for row in rows]
    usage = [(probs[0][k] + probs[1][k]) / 2 for k in range(3)]
    entropy = -sum(u * math.log(u) for u in usage)
    loss, terms = obj.g_loss(torch.zeros(2, 3), div)
    assert terms["g_div"].item() == pytest.approx(-entropy, rel=1e-6)
    assert loss.item() == pytest.approx(math.log(2.0) + 2.0 * -entropy, rel=1e-6)
    even, _ = obj.g_loss(torch.zeros(3, 3), torch.eye(3) * 50)  # each head wins one sample
    one, _ = obj.g_loss(torch.zeros(3, 3), torch.tensor([[50.0, 0, 0]] * 3))  # one head wins all
    assert even.item() == pytest.approx(math.log(2.0) - 2.0 * math.log(3.0), rel=1e-5)
    assert one.item() == pytest.approx(math.log(2.0), abs=1e-5)
    assert obj.variant == "usage_entropy"


def test_paper_options_are_the_default_and_bad_options_are_refused(make_cfg):
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    obj = build_objective("mmagan")
    assert (obj.real_assignment, obj.g_adversarial, obj.hinge, obj.variant) == (
        "shared",
        "mean",
        "absolute",
        "",
    )
    assert (
        build_objective("mmagan", real_assignment="balanced", hinge="relative").variant == "balanced+relative"
    )
    with pytest.raises(
        ConfigError,
        match=r"model.objective.hinge='soft' is invalid: must be one of \['absolute', 'relative', 'smooth'\]",
    ):
        validate_config(make_cfg("model.objective.hinge=soft"))
    with pytest.raises(ConfigError, match="real_assignment"):
        validate_config(make_cfg("model.objective.real_assignment=argmax"))
    with pytest.raises(ConfigError, match=r"model.objective.smooth_beta=0.*a number > 0"):
        validate_config(make_cfg("model=mmagan_smooth", "model.objective.smooth_beta=0"))
    with pytest.raises(ConfigError, match=r"model.objective.diversity='gini'.*'usage_entropy'"):
        validate_config(make_cfg("model.objective.diversity=gini"))
    assert make_cfg("model=mmagan_entropy").model.objective.diversity == "usage_entropy"
    cfg = make_cfg("model=mmagan_balanced_relative")
    assert (
        cfg.model.objective.real_assignment,
        cfg.model.objective.g_adversarial,
        cfg.model.objective.hinge,
    ) == (
        "balanced",
        "best_head",
        "relative",
    )
    assert cfg.model.objective.tau == 0.5  # the rest comes from model=mmagan


def test_a_new_objective_is_one_class_and_nothing_else(make_cfg, tmp_path):
    """A least-squares GAN registered here, in the test: validated by its own `checks`, trained,
    and listed by the report, without touching validation, the listing or the step."""
    from mmagan.checks import _is_number
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError
    from mmagan.objectives import OBJECTIVES, register_objective
    from mmagan.objectives.base import Objective
    from mmagan.runs.listing import read_run
    from mmagan.train import train

    @register_objective
    class LeastSquares(Objective):
        name = "lsgan_test"
        checks = {"target": (lambda v: _is_number(v) and v > 0, "a number > 0")}

        def __init__(self, target: float = 1.0) -> None:
            self.target = float(target)

        def d_loss(self, real_logits, fake_logits):
            loss = ((real_logits - self.target) ** 2).mean() + (fake_logits**2).mean()
            return loss, {}

        def g_loss(self, fake_logits, div_logits=None):
            return ((fake_logits - self.target) ** 2).mean(), {}

    try:
        base = ["model=dcgan", "model.objective.name=lsgan_test", "+model.objective.target=1.0"]
        with pytest.raises(ConfigError, match=r"model.objective.target=-2 is invalid: must be a number > 0"):
            validate_config(make_cfg(*base[:2], "+model.objective.target=-2"))
        with pytest.raises(ConfigError, match=r"model.objective.margin is not a known key"):
            validate_config(make_cfg(*base, "+model.objective.margin=1"))
        run = tmp_path / "ls"
        cfg = make_cfg(*base, "iterations=3", "trainer.val_check_interval=3", run_dir=run)
        figures = train(cfg)
        assert figures["finished"] == 1 and math.isfinite(figures["train/loss_d"])
        (run / ".hydra").mkdir()
        from omegaconf import OmegaConf

        OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
        assert read_run(run).method == "lsgan_test"
    finally:
        OBJECTIVES.pop("lsgan_test", None)
