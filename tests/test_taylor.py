"""Taylor-mode derivatives agree with nested reverse-mode autograd to round-off (float64)."""

from __future__ import annotations

import itertools
import math

import pytest
import sympy as sp
import torch
from torch import nn

import pinnopt as po
from pinnopt.nn import ACTIVATIONS, PINN, InputScaling, MLPNet
from pinnopt.nn.taylor import AutoEngine, TaylorEngine, TaylorPlan, default_rules, describe_mlp, lower_closure
from pinnopt.nn.taylor.activations import hermite_polynomials, tanh_polynomials
from pinnopt.nn.taylor.engine import MAX_ORDER
from pinnopt.symbolic import AutogradEngine, DerivativePlan, Field

RTOL = 1e-10


def _model(dim: int, n_out: int, activation: str = "tanh", *, scaled: bool = True, width: int = 12) -> PINN:
    lower, upper = (
        ([-1.0 - j for j in range(dim)], [2.0 + 0.5 * j for j in range(dim)]) if scaled else (None, None)
    )
    net = MLPNet(dim, n_out, width, 3, activation, lower, upper).double()
    for layer in net.linears:  # nonzero biases, so no derivative vanishes by symmetry
        nn.init.normal_(layer.bias, std=0.3)
    return PINN(net, [f"u{i}" for i in range(n_out)])


def _points(dim: int, n: int = 40) -> torch.Tensor:
    return torch.rand(n, dim, dtype=torch.float64) * 3 - 1


def _all_fields(dim: int, n_out: int, max_order: int) -> set[Field]:
    return {
        Field(f"u{i}", o)
        for o in itertools.product(range(max_order + 1), repeat=dim)
        if sum(o) <= max_order
        for i in range(n_out)
    }


def _compare(
    model: nn.Module, x: torch.Tensor, wanted: set[Field], engine: TaylorEngine | None = None
) -> None:
    plan = DerivativePlan.build(wanted)
    unknowns = model.unknowns
    ref = AutogradEngine().evaluate(model, x, plan, unknowns)
    got = (engine or TaylorEngine()).evaluate(model, x, plan, unknowns)
    assert set(got) >= wanted
    for f in wanted:
        scale = ref[f].abs().max().item()
        assert scale > 1e-8, f"{f} vanishes: the comparison would be vacuous"
        err = (got[f] - ref[f]).abs().max().item() / scale
        assert err < RTOL, (f, err)


# -- the combinatorial plan ------------------------------------------------------------------


def test_lower_closure_puts_value_then_first_orders_in_axis_order() -> None:
    idx = lower_closure([(2, 1)])
    assert idx == ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (2, 1))


def test_faa_di_bruno_coefficients_count_every_set_partition() -> None:
    plan = TaylorPlan.build([(4,)], 1)
    rule = {plan.indices[r.index]: r for r in plan.rules}[(4,)]
    pos = plan.position
    groups = {k: dict(terms) for k, terms in rule.groups}
    # D^4 s(z) = s' z4 + s''(4 z1 z3 + 3 z2^2) + 6 s''' z1^2 z2 + s'''' z1^4
    assert {k: sorted(t.items()) for k, t in groups.items()} == {
        2: sorted({4: (pos[(1,)], pos[(3,)]), 3: (pos[(2,)], pos[(2,)])}.items()),
        3: [(6, (pos[(1,)], pos[(1,)], pos[(2,)]))],
        4: [(1, (pos[(1,)],) * 4)],
    }
    mixed = TaylorPlan.build([(2, 2)], 2)
    bell4 = 15  # set partitions of 4 labelled directions, minus the single block counted implicitly
    r = {mixed.indices[r.index]: r for r in mixed.rules}[(2, 2)]
    assert sum(c for _, terms in r.groups for c, _ in terms) == bell4 - 1


def test_activation_derivative_polynomials() -> None:
    q = tanh_polynomials(4)
    assert [tuple(map(int, p)) for p in q] == [(1,), (0, -2), (-2, 0, 6), (0, 16, 0, -24)]
    he = hermite_polynomials(4)
    assert tuple(map(int, he[4])) == (3, 0, -6, 0, 1)


@pytest.mark.parametrize("activation", ["tanh", "sin", "sigmoid", "softplus", "silu", "gelu", "relu"])
def test_activation_rule_derivatives_match_autograd(activation: str) -> None:
    module = ACTIVATIONS[activation]()
    rule = default_rules()[type(module)](module)
    assert rule is not None
    z = torch.linspace(-4, 4, 41, dtype=torch.float64).requires_grad_(True)
    d = rule.derivatives(z, 4)
    y = module(z)
    for k in range(5):
        got = d.derivative(k)
        if got is None:
            assert torch.equal(y, torch.zeros_like(y)), (activation, k)
        else:
            torch.testing.assert_close(got, y, rtol=1e-12, atol=1e-12)
        if y.requires_grad:
            (y,) = torch.autograd.grad(y.sum(), z, create_graph=True)
        else:
            y = torch.zeros_like(z)


# -- fields against nested autograd ----------------------------------------------------------


@pytest.mark.parametrize("scaled", [True, False])
def test_one_input_up_to_order_four(scaled: bool) -> None:
    model = _model(1, 1, scaled=scaled)
    _compare(model, _points(1), _all_fields(1, 1, 4))


def test_two_inputs_mixed_partials() -> None:
    model = _model(2, 1)
    wanted = {Field("u0", o) for o in [(0, 0), (1, 1), (2, 1), (2, 2), (0, 3)]}
    _compare(model, _points(2), wanted)


def test_three_inputs_several_outputs_each_with_its_own_fields() -> None:
    model = _model(3, 2)
    wanted = {Field("u0", (0, 0, 0)), Field("u0", (2, 0, 0)), Field("u0", (0, 1, 1)), Field("u1", (0, 0, 1))}
    wanted |= {Field("u1", (1, 1, 1)), Field("u1", (0, 0, 2))}
    _compare(model, _points(3), wanted)


@pytest.mark.parametrize("activation", ["sin", "sigmoid", "softplus", "silu", "gelu"])
def test_every_smooth_activation_in_two_dimensions(activation: str) -> None:
    model = _model(2, 2, activation, width=8)
    _compare(model, _points(2, 24), _all_fields(2, 2, 3))


def test_relu_derivatives_match_autograd_including_the_zero_ones() -> None:
    model = _model(2, 1, "relu")
    x = _points(2)
    plan = DerivativePlan.build({Field("u0", (1, 0)), Field("u0", (0, 1)), Field("u0", (1, 1))})
    ref = AutogradEngine().evaluate(model, x, plan, model.unknowns)
    got = TaylorEngine().evaluate(model, x, plan, model.unknowns)
    for f in plan.wanted:
        torch.testing.assert_close(got[f], ref[f], rtol=RTOL, atol=1e-14)
    assert torch.equal(got[Field("u0", (1, 1))], torch.zeros(len(x), dtype=torch.float64))


def test_softplus_linear_region_matches_autograd() -> None:
    model = _model(1, 1, "softplus", width=8)
    with torch.no_grad():
        model.net.linears[0].weight.mul_(40.0)  # pre-activations well beyond the threshold 20
    _compare(model, _points(1, 60), _all_fields(1, 1, 3))


@pytest.mark.parametrize("stack", [True, False])
def test_stacked_and_per_channel_products_agree(stack: bool) -> None:
    model = _model(2, 1)
    _compare(model, _points(2), _all_fields(2, 1, 2), TaylorEngine(stack=stack))


def test_float32_keeps_the_dtype_and_agrees_to_single_precision() -> None:
    model = _model(2, 1).float()
    x = _points(2).float()
    plan = DerivativePlan.build({Field("u0", (2, 0)), Field("u0", (0, 1))})
    ref = AutogradEngine().evaluate(model, x, plan, model.unknowns)
    got = TaylorEngine().evaluate(model, x, plan, model.unknowns)
    for f in plan.wanted:
        assert got[f].dtype == torch.float32
        torch.testing.assert_close(got[f], ref[f], rtol=1e-4, atol=1e-5)


def test_parameter_gradients_through_the_forward_derivatives_match_autograd() -> None:
    model = _model(2, 2)
    x = _points(2)
    wanted = {
        Field("u0", (0, 0)),
        Field("u0", (2, 0)),
        Field("u0", (1, 1)),
        Field("u1", (0, 2)),
        Field("u1", (3, 0)),
    }
    plan = DerivativePlan.build(wanted)

    def loss_grads(engine) -> list[torch.Tensor]:
        f = engine.evaluate(model, x, plan, model.unknowns)
        r = f[Field("u0", (2, 0))] * f[Field("u0", (0, 0))] + f[Field("u0", (1, 1))] - f[Field("u1", (0, 2))]
        loss = (r * r).mean() + f[Field("u1", (3, 0))].pow(2).mean()
        return list(torch.autograd.grad(loss, list(model.parameters())))

    ref, got = loss_grads(AutogradEngine()), loss_grads(TaylorEngine())
    for g, r in zip(got, ref, strict=True):
        assert (g - r).abs().max().item() <= RTOL * r.abs().max().item()


def test_create_graph_false_gives_fields_without_a_graph() -> None:
    model = _model(1, 1)
    plan = DerivativePlan.build({Field("u0", (2,))})
    got = TaylorEngine().evaluate(model, _points(1), plan, model.unknowns, create_graph=False)
    assert not got[Field("u0", (2,))].requires_grad


# -- recognition and fallback ----------------------------------------------------------------


class _Tagged(MLPNet):
    """A subclass: same layers, but it could change forward(), so it is not recognized."""


class _Normed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _Shifted(InputScaling):
    """Keeps the affine forward of InputScaling (like a standardization): recognized."""


class _Warped(InputScaling):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(super().forward(x))


def test_input_scaling_subclasses_are_recognized_only_with_the_affine_forward() -> None:
    net = MLPNet(2, 1, 8, 2, "tanh").double()
    net.scaling = _Shifted([-1.0, 0.0], [1.0, 3.0]).double()
    model = PINN(net, ["u0"])
    assert TaylorEngine().supports(model)
    _compare(model, _points(2, 16), {Field("u0", (2, 0)), Field("u0", (1, 1))})
    net.scaling = _Warped([-1.0, 0.0], [1.0, 3.0]).double()
    assert not TaylorEngine().supports(model)


def test_recognizes_the_default_model_built_by_solve() -> None:
    net = po.nn.MLP(width=8, depth=2).build(2, 1, ([0.0, 0.0], [1.0, 2.0]))
    assert describe_mlp(PINN(net, ["u"]), default_rules()) is not None
    assert describe_mlp(net, default_rules()) is not None


@pytest.mark.parametrize("kind", ["subclass", "batchnorm", "extra_layer", "gelu_tanh"])
def test_unrecognized_models_fall_back_to_autograd(kind: str) -> None:
    if kind == "subclass":
        net: nn.Module = _Tagged(2, 1, 8, 2, "tanh").double()
    elif kind == "batchnorm":
        net = _Normed().double()
    elif kind == "extra_layer":
        net = MLPNet(2, 1, 8, 2, "tanh").double()
        net.norm = nn.LayerNorm(8)  # a module MLPNet.forward does not know about
    else:
        net = MLPNet(2, 1, 8, 2, "gelu").double()
        net.activation = nn.GELU(approximate="tanh")
    model = PINN(net, ["u"])
    plan = DerivativePlan.build({Field("u", (2, 0)), Field("u", (1, 1))})
    taylor, auto = TaylorEngine(), AutoEngine()
    assert not taylor.supports(model)
    assert isinstance(taylor.resolve(model, plan), AutogradEngine)
    assert isinstance(auto.resolve(model, plan), AutogradEngine)
    x = _points(2, 16)
    ref = AutogradEngine().evaluate(model, x, plan, ["u"])
    got = taylor.evaluate(model, x, plan, ["u"])
    for f in plan.wanted:
        torch.testing.assert_close(got[f], ref[f], rtol=0, atol=0)


def test_auto_engine_uses_taylor_from_order_two_only() -> None:
    model = _model(2, 1)
    auto = AutoEngine()
    first = DerivativePlan.build({Field("u0", (1, 0)), Field("u0", (0, 1))})
    second = DerivativePlan.build({Field("u0", (2, 0)), Field("u0", (0, 1))})
    values = DerivativePlan.build({Field("u0", (0, 0))})
    assert auto.resolve(model, first).name == "autograd"
    assert auto.resolve(model, second).name == "taylor"
    assert auto.resolve(model, values).name == "autograd"
    assert AutoEngine(min_order=1).resolve(model, first).name == "taylor"
    too_high = DerivativePlan.build({Field("u0", (MAX_ORDER + 1, 0))})
    assert auto.resolve(model, too_high).name == "autograd"
    assert TaylorEngine().resolve(model, too_high).name == "autograd"
    with pytest.raises(po.ConfigError, match="min_order"):
        AutoEngine(min_order=0)
    with pytest.raises(po.ConfigError, match="fallback"):
        TaylorEngine(fallback="autograd")  # type: ignore[arg-type]


def test_engine_settings_are_in_the_repr_and_refused_as_flags() -> None:
    assert repr(TaylorEngine(stack=True)) == "TaylorEngine(stack=True, fused=True)"
    assert repr(AutogradEngine()) == "AutogradEngine()"
    assert "fallback=AutoEngine(min_order=3)" in repr(TaylorEngine(fallback=AutoEngine(3)))
    for bad in (True, 1.5, "2", 0):
        with pytest.raises(po.ConfigError, match=f"AutoEngine\\(min_order={bad!r}\\)"):
            AutoEngine(min_order=bad)  # type: ignore[arg-type]


def test_plans_are_cached_per_wanted_set() -> None:
    engine = TaylorEngine()
    plan = DerivativePlan.build({Field("u", (2, 0)), Field("u", (0, 1))})
    assert engine.taylor_plan(plan, 2) is engine.taylor_plan(DerivativePlan.build(plan.wanted), 2)


def test_solve_with_the_auto_engine_records_its_choice_and_trains() -> None:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - u.diff(x, 2)],
        conditions=[po.On(sp.Eq(t, 0), u - sp.sin(sp.pi * x), n=16)],
    )
    kw = {
        "model": po.nn.MLP(width=8, depth=2),
        "phases": [po.optim.Adam(steps=3, lr=1e-3)],
        "collocation": po.Collocation(interior=64),
        "log_every": 1,
    }
    auto = po.solve(problem, runtime=po.Runtime(engine=AutoEngine()), **kw)
    ref = po.solve(problem, runtime=po.Runtime(engine=AutogradEngine()), **kw)
    assert auto.config["engine"] == "auto"
    assert auto.config["engine_by_point_set"] == {"interior": "taylor", "t=0": "autograd"}
    la, lr = auto.history.loss, ref.history.loss
    assert len(la) == len(lr) == 3
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(la, lr, strict=True))


def test_solve_uses_the_auto_engine_by_default_and_rejects_non_engines() -> None:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2) + 1],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u)],
    )
    kw = {
        "model": po.nn.MLP(width=8, depth=2),
        "phases": [po.optim.Adam(steps=1)],
        "collocation": po.Collocation(32, 4),
    }
    result = po.solve(problem, **kw)
    assert result.config["engine"] == "auto"
    assert result.config["engine_by_point_set"]["interior"] == "taylor"
    with pytest.raises(po.ConfigError, match="DerivativeEngine"):
        po.Runtime(engine="taylor")  # type: ignore[arg-type]
