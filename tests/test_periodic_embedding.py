"""The periodic input embedding: exact periodicity of values and derivatives, specs, wiring."""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.nn import model_from_config

BOX = ((0.0, -1.0), (2 * math.pi, 2.0))  # x in [0, 2 pi], t in [-1, 2]


def _across(net: torch.nn.Module, lower: float, upper: float) -> tuple[torch.Tensor, ...]:
    """Values and x-derivatives (first and second) at x = lower and x = upper, same t."""
    t = torch.linspace(-1.0, 2.0, 41, dtype=torch.float64)[:, None]
    out = []
    for side in (lower, upper):
        pts = torch.cat([torch.full_like(t, side), t], dim=1).requires_grad_(True)
        u = net(pts)[:, 0]
        (du,) = torch.autograd.grad(u.sum(), pts, create_graph=True)
        (d2u,) = torch.autograd.grad(du[:, 0].sum(), pts)
        out += [u.detach(), du[:, 0].detach(), d2u[:, 0]]
    return tuple(out)


@pytest.mark.parametrize(
    "spec",
    [
        po.nn.MLP(width=16, depth=3, embedding=po.nn.PeriodicEmbedding((0,))),
        po.nn.MLP(
            width=16,
            depth=3,
            embedding=po.nn.PeriodicEmbedding((0,), harmonics=4),
            input_scaling="standardize",
        ),
        po.nn.ModifiedMLP(width=16, depth=3, embedding=po.nn.PeriodicEmbedding((0,), harmonics=2)),
        po.nn.ResidualMLP(width=16, depth=3, embedding=po.nn.PeriodicEmbedding((0,)), input_scaling=False),
    ],
    ids=["mlp", "standardized", "modified", "unscaled"],
)
def test_values_and_derivatives_agree_across_the_period(spec: po.nn.ModelSpec) -> None:
    torch.manual_seed(0)
    net = spec.build(2, 1, BOX).double()
    u0, du0, ddu0, u1, du1, ddu1 = _across(net, 0.0, 2 * math.pi)
    assert float(du0.abs().max()) > 1e-2  # the check is not vacuous
    assert float((u0 - u1).abs().max()) < 1e-12
    assert float((du0 - du1).abs().max()) < 1e-12
    assert float((ddu0 - ddu1).abs().max()) < 1e-11


def test_an_explicit_period_and_a_plain_model_for_contrast() -> None:
    torch.manual_seed(0)
    net = (
        po.nn.MLP(width=16, depth=3, embedding=po.nn.PeriodicEmbedding((0,), period=math.pi))
        .build(2, 1, BOX)
        .double()
    )
    u0, du0, _, u1, du1, _ = _across(net, 0.5, 0.5 + math.pi)
    assert float((u0 - u1).abs().max()) < 1e-12 and float((du0 - du1).abs().max()) < 1e-12
    plain = po.nn.MLP(width=16, depth=3).build(2, 1, BOX).double()
    v0, _, _, v1, _, _ = _across(plain, 0.0, 2 * math.pi)
    assert float((v0 - v1).abs().max()) > 1e-3


def test_layer_layout_and_config_round_trip() -> None:
    emb = po.nn.PeriodicEmbedding(("x",), harmonics=3)
    assert emb.out_dim(2) == 1 + 2 * 3
    bound = emb.bind(["x", "t"])
    assert bound.coordinates == (0,)
    spec = po.nn.MLP(width=8, depth=2, embedding=emb).bind(["t", "x"])
    assert spec.embedding.coordinates == (1,)
    again = model_from_config(spec.config())
    assert again == spec
    layer = bound.build(2, BOX)
    h = torch.tensor([[-1.0, 0.3], [1.0, -0.2], [0.0, 0.1]], dtype=torch.float64)  # scaled (x, t)
    out = layer.double()(h)
    assert out.shape == (3, 7)
    torch.testing.assert_close(out[:, 0], h[:, 1])  # t passes through
    # scaled x = -1, 1 are x = 0, 2 pi: cos(k x) = 1, sin(k x) = 0; scaled 0 is x = pi: cos = (-1)^k
    ones = torch.ones(3, dtype=torch.float64)
    torch.testing.assert_close(out[:2, 1:4], torch.ones(2, 3, dtype=torch.float64))
    torch.testing.assert_close(out[:, 4:], torch.zeros(3, 3, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(out[2, 1:4], torch.tensor([-1.0, 1.0, -1.0], dtype=torch.float64) * ones)


def test_bad_settings_name_the_problem() -> None:
    with pytest.raises(po.ConfigError, match="harmonics"):
        po.nn.PeriodicEmbedding(harmonics=0)
    with pytest.raises(po.ConfigError, match="period"):
        po.nn.PeriodicEmbedding(period=-1.0)
    with pytest.raises(po.ConfigError, match="no coordinate named 'y'"):
        po.nn.PeriodicEmbedding(("y",)).bind(["x", "t"])
    with pytest.raises(po.ConfigError, match=r"build it through po\.solve"):
        po.nn.MLP(embedding=po.nn.PeriodicEmbedding(("x",))).build(2, 1, BOX)


def test_solve_resolves_names_and_records_the_embedding() -> None:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, 0, 2 * sp.pi) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u.diff(x)],
        conditions=[po.On(sp.Eq(t, 0), u - sp.sin(x))],
        exact=sp.sin(x - t),
    )
    result = po.solve(
        problem,
        model=po.nn.MLP(width=8, depth=2, embedding=po.nn.PeriodicEmbedding(("x",))),
        phases=[po.optim.Adam(5)],
        collocation=po.Collocation(64, 16),
        log_every=5,
    )
    assert result.config["model"]["embedding"]["coordinates"] == [0]
    assert result.config["strategies"]["embedding"]["kind"] == "PeriodicEmbedding"
    p = result.predict({"x": [0.0, 2 * math.pi], "t": [0.4, 0.4]})["u"]
    assert abs(p[0] - p[1]) < 1e-12
