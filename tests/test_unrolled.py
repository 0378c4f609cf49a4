"""Unrolled GAN: G's gradient flows through D's unrolled updates (checked against finite differences)."""

import pytest
import torch

from mmagan.nets.mlp import MLPDiscriminator
from mmagan.objectives import build_objective


def unrolled_loss(obj, G, D, z, real, detach_unrolled=False):
    fake = G(z)
    if detach_unrolled:  # D^k as a constant: what G would see without the second-order terms
        params, at = obj.unrolled(D, real, fake)
        return obj.g_loss(at({n: p.detach() for n, p in params.items()}, fake))[0]
    return obj.g_loss(obj.g_judge(D, D, real, fake)(fake))[0]


def test_one_unrolled_step_gives_gs_gradient_of_the_unrolled_loss():
    torch.manual_seed(0)
    G = torch.nn.Linear(2, 2).double()
    D = MLPDiscriminator(2, [6], pieces=2).double()
    z, real = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64) + 1.0
    obj = build_objective("unrolled", unroll_steps=1, unroll_lr=0.5)

    loss = unrolled_loss(obj, G, D, z, real)
    grads = torch.autograd.grad(loss, list(G.parameters()))
    numeric = []
    with torch.no_grad():
        for p in G.parameters():
            g = torch.zeros_like(p)
            for i in range(p.numel()):
                flat = p.view(-1)
                flat[i] += 1e-6
                up = unrolled_loss(obj, G, D, z, real).item()
                flat[i] -= 2e-6
                down = unrolled_loss(obj, G, D, z, real).item()
                flat[i] += 1e-6
                g.view(-1)[i] = (up - down) / 2e-6
            numeric.append(g)
    for a, n in zip(grads, numeric):
        torch.testing.assert_close(a, n, rtol=1e-5, atol=1e-8)
    # Without the terms through the update the gradient is another one: the test can tell.
    first_order = torch.autograd.grad(
        unrolled_loss(obj, G, D, z, real, detach_unrolled=True), list(G.parameters())
    )
    assert max((a - b).abs().max().item() for a, b in zip(first_order, numeric)) > 1e-4


def test_the_unrolled_d_is_d_after_k_gradient_steps_and_d_itself_is_untouched():
    torch.manual_seed(1)
    D = MLPDiscriminator(2, [6], pieces=2).double()
    real, fake = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    before = {n: p.clone() for n, p in D.state_dict().items()}
    obj = build_objective("unrolled", unroll_steps=2, unroll_lr=0.1)
    unrolled = obj.g_judge(D, D, real, fake)(fake)
    by_hand = MLPDiscriminator(2, [6], pieces=2).double()
    by_hand.load_state_dict(before)
    sgd = torch.optim.SGD(by_hand.parameters(), lr=0.1)
    for _ in range(2):
        sgd.zero_grad()
        obj.d_loss(by_hand(real), by_hand(fake))[0].backward()
        sgd.step()
    torch.testing.assert_close(unrolled, by_hand(fake))
    assert all(torch.equal(before[n], p) for n, p in D.state_dict().items())
    assert (
        obj.g_judge(D, D, real, fake) is not D
        and build_objective("unrolled", unroll_steps=0).g_judge(D, D, real, fake) is D
    )


def test_unrolled_options_are_checked(make_cfg):
    from mmagan.config.validation import validate_config
    from mmagan.errors import ConfigError

    validate_config(make_cfg("model=unrolled", "model.objective.unroll_steps=10"))
    with pytest.raises(
        ConfigError, match=r"model.objective.unroll_steps=-1 is invalid: must be an integer >= 0"
    ):
        validate_config(make_cfg("model=unrolled", "model.objective.unroll_steps=-1"))
    with pytest.raises(ConfigError, match=r"model.objective.unroll_lr=0 is invalid"):
        validate_config(make_cfg("model=unrolled", "model.objective.unroll_lr=0"))
