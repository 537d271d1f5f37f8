"""The normalization subsystem: input/output maps with exact derivatives, hidden-layer norms."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.nn import BatchNorm, InputStandardization, MLPNet, fit_input_statistics
from pinnopt.symbolic import AutogradEngine, DerivativePlan, Field

from .exact_problems import poisson1d

BOX = ([0.0, 0.0], [1000.0, 5.0])
ORDERS = [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]


def _fields(net: torch.nn.Module, x: torch.Tensor) -> dict[tuple[int, int], np.ndarray]:
    wanted = [Field("u", o) for o in ORDERS]
    out = AutogradEngine().evaluate(net, x, DerivativePlan.build(wanted), ["u"], create_graph=False)
    return {f.orders: out[f].detach().numpy() for f in wanted}


def _analytic(w1, b1, w2, b2, center, inv, x, scale=1.0) -> dict[tuple[int, int], np.ndarray]:
    """u = scale * (w2 . tanh(w1 (x - center) * inv + b1) + b2) and its derivatives."""
    a = w1 * inv[None, :]  # d z_j / d x_k
    z = ((x - center) * inv) @ w1.T + b1
    t = np.tanh(z)
    s2 = 1 - t**2
    out = {(0, 0): t @ w2 + b2}
    for k, o in ((0, (1, 0)), (1, (0, 1))):
        out[o] = (s2 * a[:, k]) @ w2
    d2 = -2 * t * s2
    out[(2, 0)] = (d2 * a[:, 0] ** 2) @ w2
    out[(1, 1)] = (d2 * a[:, 0] * a[:, 1]) @ w2
    out[(0, 2)] = (d2 * a[:, 1] ** 2) @ w2
    return {k: scale * v for k, v in out.items()}


@pytest.mark.parametrize("mode", ["box", "standardize", "output_scale"])
def test_derivatives_through_the_scaled_model_are_exact(mode: str) -> None:
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(3, 2)), rng.normal(size=3)
    w2, b2 = rng.normal(size=3), float(rng.normal())
    if mode == "standardize":
        spec = po.nn.MLP(
            width=3, depth=1, input_scaling="standardize", input_stats=((400.0, 2.0), (250.0, 1.5))
        )
    else:
        spec = po.nn.MLP(width=3, depth=1, output_scale=7.0 if mode == "output_scale" else None)
    net = spec.build(2, 1, BOX).double()
    linears, input_map = net.linears, (net.scaling if isinstance(net, MLPNet) else net.input_map)
    with torch.no_grad():
        linears[0].weight.copy_(torch.from_numpy(w1))
        linears[0].bias.copy_(torch.from_numpy(b1))
        linears[1].weight.copy_(torch.from_numpy(w2[None, :]))
        linears[1].bias.fill_(b2)
    center, inv = input_map.center.numpy(), input_map.inv_half_width.numpy()
    if mode == "standardize":
        np.testing.assert_allclose(center, [400.0, 2.0])
        np.testing.assert_allclose(1 / inv, [250.0, 1.5])
    else:
        np.testing.assert_allclose(center, [500.0, 2.5])
        np.testing.assert_allclose(inv, [2 / 1000, 2 / 5])
    x = np.stack([np.linspace(0, 1000, 23), np.linspace(5, 0, 23) ** 1.3 / 5**0.3], axis=1)
    got = _fields(net, torch.from_numpy(x))
    want = _analytic(w1, b1, w2, b2, center, inv, x, 7.0 if mode == "output_scale" else 1.0)
    for o in ORDERS:
        ref = want[o]
        np.testing.assert_allclose(got[o], ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max(), err_msg=str(o))
    assert np.abs(want[(2, 0)]).max() < 1e-3 * np.abs(want[(0, 2)]).max()  # scales really differ


def test_standardization_fits_data_statistics() -> None:
    net = po.nn.MLP(width=4, depth=1, input_scaling="standardize").build(2, 1, BOX).double()
    layer = net.scaling
    assert isinstance(layer, InputStandardization)
    np.testing.assert_allclose(layer.std.numpy(), [1000 / 12**0.5, 5 / 12**0.5])
    data = torch.tensor([[10.0, 1.0], [30.0, 2.0], [20.0, 6.0]], dtype=torch.float64)
    assert fit_input_statistics(net, data) == 1
    np.testing.assert_allclose(layer(data).mean(0).numpy(), 0, atol=1e-15)
    np.testing.assert_allclose(layer(data).std(0).numpy(), 1, rtol=1e-14)
    assert "scaling.center" in net.state_dict()


def test_input_scaling_solves_a_problem_on_0_1000() -> None:
    length = 1000
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, length),
        equations=[-(length**2) * u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x / length)],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, length), u)],
        exact=sp.sin(sp.pi * x / length),
    )
    result = po.solve(
        problem,
        model=po.nn.MLP(width=16, depth=2),
        phases=[po.optim.Adam(steps=200, lr=1e-2), po.optim.LBFGS(steps=200)],
        collocation=po.Collocation(interior=64, boundary=1),
    )
    assert result.validate().rel_l2["u"] <= 1e-2


# -- batch norm -------------------------------------------------------------------------------
def _bn_net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return po.nn.MLP(width=6, depth=3, norm="batch").build(1, 1, ([-1.0], [1.0])).double()


def test_batch_norm_derivatives_are_pointwise() -> None:
    net = _bn_net()
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)[:, None]
    jac = torch.autograd.functional.jacobian(lambda z: net(z)[:, 0], x)[:, :, 0]
    off = jac - torch.diag(torch.diagonal(jac))
    assert float(off.abs().max()) == 0.0 and float(torch.diagonal(jac).abs().min()) > 0
    # torch's own batch norm mixes the points: the check above would fail for it
    naive = torch.nn.Sequential(
        torch.nn.Linear(1, 6), torch.nn.BatchNorm1d(6), torch.nn.Tanh(), torch.nn.Linear(6, 1)
    ).double()
    jn = torch.autograd.functional.jacobian(lambda z: naive(z)[:, 0], x)[:, :, 0]
    assert float((jn - torch.diag(torch.diagonal(jn))).abs().max()) > 1e-3


def test_batch_norm_derivatives_equal_those_of_the_network_with_frozen_statistics() -> None:
    net = _bn_net()
    x = torch.linspace(-1, 1, 17, dtype=torch.float64)[:, None]
    plan = DerivativePlan.build([Field("u", (0,)), Field("u", (1,)), Field("u", (2,))])
    train = AutogradEngine().evaluate(net, x, plan, ["u"], create_graph=False)
    # the batch statistics of every norm layer on this batch, then the same network in eval mode
    frozen = _bn_net()
    stats = []
    hooks = [m.register_forward_hook(lambda m, i, o: stats.append(i[0])) for m in frozen.norms]
    with torch.no_grad():
        frozen(x)
    for h in hooks:
        h.remove()
    frozen.eval()
    for m, h in zip(frozen.norms, stats, strict=True):
        m.running_mean.copy_(h.mean(0))
        m.running_var.copy_(h.var(0, unbiased=False))
    ref = AutogradEngine().evaluate(frozen, x, plan, ["u"], create_graph=False)
    for f in plan.wanted:
        torch.testing.assert_close(train[f], ref[f], rtol=1e-12, atol=1e-12)


def test_batch_norm_weight_gradients_flow_through_the_statistics() -> None:
    x = torch.linspace(-1, 1, 11, dtype=torch.float64)[:, None]
    grads = []
    for needs_grad in (False, True):
        net = _bn_net()
        net(x.clone().requires_grad_(needs_grad)).pow(2).sum().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_batch_norm_running_statistics_are_used_at_inference() -> None:
    net = _bn_net()
    bn = net.norms[0]
    assert isinstance(bn, BatchNorm)
    x = torch.linspace(-1, 1, 8, dtype=torch.float64)[:, None]
    with torch.no_grad():
        net(x)
    assert int(bn.num_batches_tracked) == 1
    assert float(bn.running_mean.abs().max()) > 0 and not torch.allclose(
        bn.running_var, torch.ones(6).double()
    )
    net.eval()
    single = net(x[:1])  # one point is fine with running statistics
    torch.testing.assert_close(single, net(x)[:1])


def test_batch_norm_refuses_a_one_point_batch_in_training_mode() -> None:
    net = _bn_net()
    with pytest.raises(po.DataError, match=r"batch norm in training mode got a batch of 1 point"):
        net(torch.zeros(1, 1, dtype=torch.float64))
    with pytest.raises(po.DataError, match="norm='layer'"):
        po.solve(
            poisson1d(),  # the statistics come from the interior set, here of one point
            model=po.nn.MLP(width=6, depth=2, norm="batch"),
            phases=[po.optim.Adam(steps=1)],
            collocation=po.Collocation(interior=1, boundary=1),
        )


@pytest.mark.parametrize("norm", ["layer", "group"])
def test_layer_and_group_norm_train_poisson_1d(norm: str) -> None:
    result = po.solve(
        problems.get("poisson1d"),
        model=po.nn.MLP(width=20, depth=3, norm=norm),
        phases=[po.optim.Adam(steps=200, lr=1e-2), po.optim.LBFGS(steps=100)],
        collocation=po.Collocation(interior=128, boundary=1),
    )
    assert result.validate().rel_l2["u"] <= 1e-2
