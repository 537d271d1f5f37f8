"""Robust solves of declared problems: groups, nominal terms, parametric models, limits, reports."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import sympy as sp
import torch
from pinnopt.problems import robust_design as rd

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.losses import ResidualTerm
from pinnopt.robust import AtValues, RobustTerm, resolve

ROOT = Path(__file__).resolve().parents[1]
x, k, c = sp.symbols("x k c")
u = sp.Function("u")(x)


def _poisson(**kw) -> po.Problem:
    """-k u'' = 1 on (0, 1), u(0) = 0, u(1) = c; k uncertain."""
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-k * u.diff(x, 2) - 1],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u - c, name="right")],
        uncertain={k: po.robust.BoxSet(0.8, 1.2)},
        parameters={c: 0.0},
        **kw,
    )


def test_the_robust_design_example_meets_the_target_where_the_nominal_design_does_not() -> None:
    spec = importlib.util.spec_from_file_location(
        "robust_design_example", ROOT / "examples" / "robust_design.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)  # type: ignore[union-attr]
    out = example.main(steps=100)
    robust, nominal = out["robust"], out["nominal"]
    # Brute force (solve_ivp on 201 decay rates): the robust control keeps |u(1) - 1| <= 0.15
    # everywhere; the nominal one leaves the band at the fast-decay end.
    assert robust["meets_band"] and not nominal["meets_band"]
    assert nominal["worst_k"] == pytest.approx(rd.K_HIGH)
    assert robust["theta"] == pytest.approx(rd.robust_theta(), rel=1e-2)
    assert nominal["theta"] == pytest.approx(rd.nominal_theta(), rel=1e-2)
    exact_worst = rd.brute_force(rd.robust_theta())["max_deviation"]
    assert robust["max_deviation"] == pytest.approx(exact_worst, abs=1e-2)
    assert out["robust_rel_l2"] < 2e-2


def test_default_groups_wrap_the_terms_that_read_uncertain_coefficients() -> None:
    problem = _poisson()
    pinn, _ = build_model(problem, po.nn.MLP(width=8, depth=1))
    groups = resolve(problem, None)
    assert [g.terms for g in groups] == [("pde",)]
    objective = build_objective(problem, robust=groups, model=pinn)
    assert objective.names == ("worst(pde)", "x=0", "right")
    assert isinstance(objective.terms[0], RobustTerm)
    assert isinstance(objective.terms[0].method, po.robust.PGA) and objective.terms[0].method.vertices
    nominal = build_objective(problem, robust=resolve(problem, False), model=pinn)
    assert isinstance(nominal.terms[0], AtValues) and nominal.terms[0].values == {"k": 1.0}
    assert type(nominal.terms[1]) is ResidualTerm  # does not read k: untouched
    # Every term with a parametric model (the state depends on k through the network).
    assert [g.terms for g in resolve(problem, True, parametric=True)] == [("pde", "x=0", "right")]


def test_nominal_terms_see_the_nominal_value_and_robust_terms_the_worst() -> None:
    problem = _poisson()
    torch.manual_seed(0)
    pinn, _ = build_model(problem, po.nn.MLP(width=8, depth=1))
    pinn = pinn.double()
    pts = sample_points(
        problem,
        po.Collocation(interior=16, boundary=1),
        torch.Generator().manual_seed(0),
        torch.float64,
        torch.device("cpu"),
    )
    spec = problem.terms[0]
    plain = po.losses.Objective([ResidualTerm("pde", spec.region.name, spec.expr)], problem.unknowns)
    ev = plain.evaluation(pinn, pts, scalars={"k": torch.tensor(1.0, dtype=torch.float64)})
    at_one = float(plain.losses(ev)[0].detach())
    nominal = build_objective(problem, robust=resolve(problem, False), model=pinn)
    assert float(nominal(pinn, pts)[1][0].detach()) == pytest.approx(at_one)
    robust = build_objective(
        problem,
        robust=resolve(problem, [po.robust.Robust("pde", method=po.robust.GridSearch(41))]),
        model=pinn,
    )
    worst = float(robust(pinn, pts)[1][0].detach())

    def at(v: float) -> float:
        scalars = {"k": torch.tensor(v, dtype=torch.float64)}
        return float(plain.losses(plain.evaluation(pinn, pts, scalars=scalars))[0].detach())

    ends = [at(0.8), at(1.2)]
    assert worst == pytest.approx(max(ends), rel=1e-9)  # (k u'' + 1)^2 is convex in k: an end wins


def test_group_declarations_are_checked() -> None:
    problem = _poisson()
    with pytest.raises(po.ConfigError, match="no term named 'pdf'"):
        resolve(problem, po.robust.Robust(["pdf"]))
    with pytest.raises(po.ConfigError, match="in two robust groups"):
        resolve(problem, [po.robust.Robust(["pde"]), po.robust.Robust(["pde", "right"])])
    with pytest.raises(po.ConfigError, match="does not read any uncertain coefficient"):
        resolve(problem, po.robust.Robust(["right"]))
    with pytest.raises(po.ConfigError, match=r"infinitely many extreme points"):
        a, b = sp.symbols("a b")
        ell = po.Problem(
            domain=po.Interval(x, 0, 1),
            equations=[-a * u.diff(x, 2) - b],
            uncertain={(a, b): po.robust.Ellipsoid([1, 1], 0.01)},
        )
        resolve(ell, po.robust.Robust(method=po.robust.Vertices()))
    plain = po.Problem(domain=po.Interval(x, 0, 1), equations=[u.diff(x, 2)])
    assert resolve(plain, None) == []
    with pytest.raises(po.ConfigError, match="declares no uncertain coefficients"):
        resolve(plain, po.robust.Robust())
    with pytest.raises(po.ConfigError, match="expected an int >= 1"):
        po.robust.Robust(keep=0)


@dataclass(frozen=True)
class _Equality:  # stands in for the constraints issue's equality constraints
    expr: sp.Expr
    name: str = "balance"


def test_hard_equality_over_an_uncertain_coefficient_is_refused_in_a_robust_solve() -> None:
    problem = _poisson()
    object.__setattr__(problem, "equalities", (_Equality(c + k - 2),))
    with pytest.raises(po.ProblemError, match="cannot hold for every value") as err:
        po.solve(problem, phases=[po.optim.Adam(steps=1)])
    assert "['k']" in str(err.value) and "BoxSet(0.8, 1.2)" in str(err.value)
    assert resolve(problem, False) == []  # the nominal solve imposes it at k = 1: allowed
    object.__setattr__(problem, "equalities", (_Equality(c - 1),))  # no uncertain symbol: fine
    assert len(resolve(problem, None)) == 1


def test_parametric_batches_agree_with_one_xi_at_a_time() -> None:
    problem = rd.make_problem()
    torch.manual_seed(0)
    pinn, _ = build_model(problem, po.robust.Parametric(po.nn.MLP(width=8, depth=2)))
    pinn = pinn.double()
    pts = sample_points(
        problem,
        po.Collocation(interior=12, boundary=1),
        torch.Generator().manual_seed(0),
        torch.float64,
        torch.device("cpu"),
    )

    class Plain(ResidualTerm):
        def loss(self, ev):
            return super().loss(ev)

    xis = torch.tensor([[0.9], [1.13], [1.5]], dtype=torch.float64)
    values = []
    for cls in (ResidualTerm, Plain):
        terms = [cls(s.name, s.region.name, s.expr, s.weight) for s in problem.terms]
        term = RobustTerm(None, terms, problem.uncertainty, method=po.robust.GridSearch(3), parametric=True)
        ev = po.losses.Objective(terms, ("u",)).evaluation(pinn, pts)
        values.append(term.evaluator.bind(ev).values(xis, "loss"))
    torch.testing.assert_close(values[0], values[1])
    # The network sees k as an input: direct evaluation at k = 1.13 of the ODE residual.
    t = pts["interior"].x.detach().requires_grad_(True)
    out = pinn.net(t, torch.tensor([1.13], dtype=torch.float64))[:, 0]
    (du,) = torch.autograd.grad(out.sum(), t)
    theta = pinn.params["theta"]
    pde = ((du[:, 0] + 1.13 * out - theta) ** 2).mean()
    at = torch.tensor([1.13], dtype=torch.float64)
    u0 = (pinn.net(pts["t=0"].x, at)[:, 0] ** 2).mean()
    u1 = ((pinn.net(pts["t=1"].x, at)[:, 0] - 1) ** 2).mean()
    torch.testing.assert_close(values[0][1], pde + u0 + rd.TARGET_WEIGHT * u1)


def test_a_nominal_solve_reports_its_worst_case_and_the_report_is_json_ready() -> None:
    result = po.solve(
        _poisson(exact=x * (1 - x) / (2 * k)),
        model=po.nn.MLP(width=8, depth=1),
        collocation=po.Collocation(interior=16, boundary=1),
        phases=[po.optim.Adam(steps=20, lr=1e-2)],
        robust=False,
        log_every=10,
    )
    rep = result.robust
    assert rep is not None and not rep.trained
    (g,) = rep.groups
    assert g.terms == ("pde",) and g.worst["k"] in (pytest.approx(0.8), pytest.approx(1.2))
    assert g.worst_value >= g.nominal_value and rep.robust_objective >= rep.nominal_objective
    assert json.loads(json.dumps(rep.as_dict()))["groups"][0]["certified"] in (True, False)
    assert "worst" in str(rep)
