"""Min-max problems with known answers, inner maximizers, aggregation, composition, state."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.declare.uncertainty.space import Uncertain, UncertaintySpace
from pinnopt.losses import Objective, PointSet, ResidualTerm
from pinnopt.robust import RobustTerm, robust_report

from .robust_helpers import S, ValueTerm, model, points, scalar, train

theta, xi, eta = sp.symbols("theta xi eta")


def _space(a: float = 1.0, b: float = 3.0) -> UncertaintySpace:
    return UncertaintySpace([Uncertain(xi, po.robust.BoxSet(a, b))])


@pytest.mark.parametrize(
    ("method", "tol"),
    [
        (po.robust.Vertices(), 1e-6),
        (po.robust.PGA(steps=4, restarts=2), 1e-6),
        (po.robust.GridSearch(21), 1e-6),
        (po.robust.Sampling(n=32), 3e-2),
    ],
)
def test_min_over_theta_of_max_over_an_interval_is_its_midpoint(method, tol: float) -> None:
    a, b = 1.0, 3.0
    term = RobustTerm(
        None,
        [ResidualTerm("f", "p", scalar(theta - xi, [theta, xi]))],
        _space(a, b),
        method=method,
    )
    m, objective = train([term], {theta: 0.0}, [po.optim.Adam(steps=60, lr=0.1), po.optim.LBFGS(steps=40)])
    assert abs(m.parameter_values()["theta"] - (a + b) / 2) <= tol
    rep = robust_report(m, objective, points(), [term], trained=True)
    (g,) = rep.groups
    assert g.worst["xi"] in (pytest.approx(a, abs=tol), pytest.approx(b, abs=tol))
    assert g.worst_value == pytest.approx(((b - a) / 2) ** 2, rel=2 * tol)
    assert g.nominal_value == pytest.approx(0.0, abs=2 * tol)
    if tol < 1e-3:
        assert g.certified
    else:  # sampling only approximates the worst case; the dense check measures by how much
        assert 0 <= g.gap <= 0.1
    assert rep.robust_objective == pytest.approx(1.0, rel=2 * tol) and rep.nominal_objective < 1e-3


def _interior(method) -> RobustTerm:
    # max over xi in [-1, 1] of (theta - 2)^2 + 4 - (xi - theta/4)^2 lies inside, at xi = theta/4:
    # the min-max is theta* = 2, value 4, worst xi = 0.5. Concave in xi: vertices miss it.
    expr = (theta - 2) ** 2 + 4 - (xi - theta / 4) ** 2
    return RobustTerm(None, [ValueTerm("f", scalar(expr, [theta, xi]))], _space(-1.0, 1.0), method=method)


@pytest.mark.parametrize(
    ("method", "tol"), [(po.robust.PGA(steps=6, restarts=2), 1e-3), (po.robust.Sampling(n=24), 3e-2)]
)
def test_interior_worst_case_is_found_by_ascent_and_sampling(method, tol: float) -> None:
    term = _interior(method)
    m, objective = train([term], {theta: 0.0}, [po.optim.Adam(steps=40, lr=0.1), po.optim.LBFGS(steps=25)])
    assert m.parameter_values()["theta"] == pytest.approx(2.0, abs=tol)
    (g,) = robust_report(m, objective, points(), [term], trained=True).groups
    assert g.worst["xi"] == pytest.approx(0.5, abs=10 * tol)
    assert g.worst_value == pytest.approx(4.0, abs=tol)
    assert g.certified


def test_vertex_enumeration_is_wrong_for_an_interior_worst_case_and_the_certificate_says_so() -> None:
    term = _interior(po.robust.Vertices())
    m, objective = train([term], {theta: 0.0}, [po.optim.LBFGS(steps=30)])
    got = m.parameter_values()["theta"]
    assert got == pytest.approx(28 / 15, abs=1e-6)  # the vertex-only min-max, not 2
    (g,) = robust_report(m, objective, points(), [term], trained=True).groups
    assert g.worst_value == pytest.approx(4 - 60 / 225, abs=1e-6)  # 3.733 < the true 4.018 there
    assert not g.certified
    assert g.certificate_value == pytest.approx((got - 2) ** 2 + 4, abs=1e-6)
    assert g.certificate["xi"] == pytest.approx(got / 4, abs=2e-3)
    assert g.gap == pytest.approx(0.2844, abs=1e-3)


def test_soft_worst_cases_lie_between_mean_and_max() -> None:
    space = _space(1.0, 3.0)
    m = model({theta: 0.5})
    res = ResidualTerm("f", "p", scalar(theta - xi, [theta, xi]))
    ev = Objective([res], ("u",)).evaluation(m, points())
    values = {}
    for name, agg in {
        "max": po.robust.Max(),
        "mean": po.robust.Mean(),
        "lse_hot": po.robust.LogSumExp(temperature=100.0),
        "lse_cold": po.robust.LogSumExp(temperature=1e-3),
        "cvar_all": po.robust.CVaR(1.0),
        "cvar_tail": po.robust.CVaR(0.1),
    }.items():
        t = RobustTerm(None, [res], space, method=po.robust.GridSearch(11), aggregate=agg)
        values[name] = float(t.loss(ev).detach())
    grid = np.linspace(1, 3, 11)
    assert values["max"] == pytest.approx((0.5 - 1) ** 2 if False else (3 - 0.5) ** 2)
    assert values["mean"] == pytest.approx(np.mean((0.5 - grid) ** 2))
    assert values["cvar_all"] == pytest.approx(values["mean"])
    assert values["cvar_tail"] == pytest.approx(np.mean(sorted((0.5 - grid) ** 2)[-2:]))
    assert values["mean"] < values["lse_hot"] < values["lse_cold"] <= values["max"]
    assert values["lse_hot"] == pytest.approx(values["mean"], rel=0.05)
    assert values["lse_cold"] == pytest.approx(values["max"], abs=1e-2)


def test_robust_terms_compose_with_nominal_terms_and_differentiate_at_the_worst_case() -> None:
    # Objective = data misfit (no xi) + worst case over xi of (theta * xi - 1)^2: Danskin's gradient.
    m = model({theta: 0.8})
    data = ResidualTerm("data", "p", scalar(theta - 1.2, [theta]), weight=2.0)
    robust = RobustTerm(
        "worst",
        [ResidualTerm("phys", "p", scalar(theta * xi - 1, [theta, xi]))],
        _space(0.5, 2.0),
        method=po.robust.Vertices(),
    )
    objective = Objective([data, robust], ("u",))
    total, losses = objective(m, points())
    worst = max((0.8 * x - 1) ** 2 for x in (0.5, 2.0))
    assert losses.tolist() == pytest.approx([(0.8 - 1.2) ** 2, worst])
    assert float(total.detach()) == pytest.approx(2 * 0.16 + worst)
    total.backward()
    assert float(m.params["theta"].grad) == pytest.approx(2 * 2 * (-0.4) + 2 * (0.8 * 2 - 1) * 2)


def test_vectorized_residuals_equal_the_term_evaluated_one_xi_at_a_time() -> None:
    class Plain(ResidualTerm):  # same loss, but an unknown subclass: evaluated per xi
        def loss(self, ev):
            return super().loss(ev)

    m = model({theta: 0.3})
    pts = {"p": PointSet("p", torch.linspace(0, 1, 7, dtype=torch.float64)[:, None])}
    expr = scalar(sp.sin(S * xi) + theta * eta * S, [theta, xi, eta])
    space = UncertaintySpace(
        [Uncertain((xi, eta), po.robust.Ellipsoid([1.0, 2.0], [[1.0, 0.3], [0.3, 0.5]]))]
    )
    xis = torch.as_tensor(space.dense(40, torch.Generator().manual_seed(0)), dtype=torch.float64)
    out = []
    for cls in (ResidualTerm, Plain):
        term = RobustTerm(None, [cls("f", "p", expr)], space, method=po.robust.PGA())
        ev = Objective([cls("f", "p", expr)], ("u",)).evaluation(m, pts)
        out.append(term.evaluator.bind(ev).values(xis, "loss"))
    torch.testing.assert_close(out[0], out[1])
    x = pts["p"].x[:, 0]
    ref = torch.stack([((torch.sin(x * a) + 0.3 * b * x) ** 2).mean() for a, b in xis])
    torch.testing.assert_close(out[0], ref)


def test_warm_start_state_round_trips_through_state_dict() -> None:
    m = model({theta: 0.0})
    make = lambda: _interior(po.robust.PGA(steps=3, restarts=3, explore=1))  # noqa: E731
    a = make()
    objective = Objective([a], ("u",))
    for step in range(3):
        objective(m, points())
        a.on_step(step + 1)
    state = objective.state_dict()
    assert state["terms"][a.name]["search"]["points"].shape == (3, 1)
    b = make()
    Objective([b], ("u",)).load_state_dict(state)
    la, lb = (
        a.loss(Objective([a], ("u",)).evaluation(m, points())),
        b.loss(Objective([b], ("u",)).evaluation(m, points())),
    )
    assert float(la.detach()) == float(lb.detach())
    torch.testing.assert_close(a.worst, b.worst)


def test_methods_refuse_sets_they_cannot_search() -> None:
    a, b = sp.symbols("a b")
    ell = UncertaintySpace([Uncertain((a, b), po.robust.Ellipsoid([0, 0], 1.0))])
    with pytest.raises(po.ConfigError, match="infinitely many extreme points"):
        po.robust.Vertices().check(ell)
    big = UncertaintySpace([Uncertain(tuple(sp.symbols("c0:14")), po.robust.BoxSet([0] * 14, [1] * 14))])
    with pytest.raises(po.ConfigError, match="16384 extreme points"):
        po.robust.Vertices().check(big)
    scen = UncertaintySpace([Uncertain(a, po.robust.Scenarios([1.0, 2.0]))])
    with pytest.raises(po.ConfigError, match="finite scenario set"):
        po.robust.PGA().check(scen)
    assert isinstance(po.robust.default_method(scen), po.robust.Vertices)
    for bad in (
        lambda: po.robust.PGA(steps=0),
        lambda: po.robust.CVaR(0.0),
        lambda: po.robust.LogSumExp(-1.0),
    ):
        with pytest.raises(po.ConfigError):
            bad()
