"""The obstacle problem (energy + barrier), energy quadrature and the feasibility report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
import torch
from pinnopt.problems import obstacle

import pinnopt as po
from pinnopt import problems
from pinnopt.compile.constraints import constraint_points, constraint_terms
from pinnopt.declare.energy import domain_measure, gauss_points
from pinnopt.losses import Objective
from pinnopt.validate.feasibility import check


def test_obstacle_exact_solution_is_consistent() -> None:
    """u >= psi, u(+-1) = 0, -u'' = f off contact, contact force -u'' - f >= 0, C^1 at x = 1/2."""
    x = obstacle.x
    u = obstacle.exact()
    xs = np.linspace(-1, 1, 2001)
    uf = sp.lambdify(x, u, "numpy")
    pf = sp.lambdify(x, obstacle.PSI, "numpy")
    assert np.all(uf(xs) - pf(xs) >= -1e-15)
    assert uf(-1.0) == pytest.approx(0.0, abs=1e-15) and uf(1.0) == pytest.approx(0.0, abs=1e-15)
    outer, inner = u.args[0][0], u.args[2][0]
    assert sp.simplify(-outer.diff(x, 2) - obstacle.F) == 0
    assert sp.simplify(-inner.diff(x, 2) - obstacle.F) == 1  # the contact force, > 0
    half = sp.Rational(1, 2)
    assert sp.simplify((outer - inner).subs(x, half)) == 0
    assert sp.simplify((outer - inner).diff(x).subs(x, half)) == 0


@pytest.fixture(scope="module")
def obstacle_result() -> po.Result:
    return po.solve(problems.get("obstacle"), **problems.recommended("obstacle"), log_every=100)


def test_obstacle_energy_plus_barrier_reaches_1e_2_and_stays_feasible(obstacle_result: po.Result) -> None:
    v = obstacle_result.validate()
    assert v.dtype == "float64"
    assert v.rel_l2["u"] <= obstacle.TARGET, v
    report = po.validate.feasibility(obstacle_result, n=10_000)
    entry = report["u>=psi"]
    assert entry.n_points == 10_000
    assert entry.max_violation <= 1e-3, report
    assert entry.active
    # the contact set is [-1/2, 1/2]: half of the grid, within the barrier's reach 20/m
    assert 0.45 <= entry.share_active <= 0.6, report


def test_feasibility_report_is_a_table_and_json(obstacle_result: po.Result) -> None:
    report = po.validate.feasibility(obstacle_result, n=2000, tol=1e-6)
    text = report.table()
    assert "u(x) >= x**2/2 - 5/8" in text and "field" in text and "active" in text
    d = json.loads(json.dumps(report.to_dict()))
    assert d["feasible"] is True and d["constraints"][0]["name"] == "u>=psi"
    assert obstacle_result.config["constraints"] == {"u>=psi": "barrier"}


def test_feasibility_checks_given_points_and_finds_violations(obstacle_result: po.Result) -> None:
    """Checking u >= psi + 0.1 on given points: violated by 0.1 on the contact set, less nearby."""
    problem = obstacle_result.problem
    x = obstacle.x
    u = sp.Function("u")(x)
    stricter = po.Problem(
        domain=problem.domain,
        equations=[],
        conditions=list(problem.conditions),
        energy=problem.energy,
        bounds=[po.Bound(u >= obstacle.PSI + sp.Rational(1, 10), name="strict")],
    )
    pts = np.linspace(-1, 1, 101)[:, None]
    report = check(stricter.constraints, obstacle_result.model, stricter.domain, points={"strict": pts})
    e = report["strict"]
    assert e.n_points == 101 and e.max_violation == pytest.approx(0.1, abs=3e-3)
    assert e.share_violating == pytest.approx(95 / 101)  # where (|x| - 1/2)^2 / 2 < 0.1: |x| < 0.947
    assert not report.feasible


def test_gauss_quadrature_is_exact_for_polynomials_and_mc_weights_sum_to_the_measure() -> None:
    pts, w = gauss_points([(-1.0, 2.0), (0.0, 1.0)], 64)
    assert pts.shape == (64, 2) and w.sum() == pytest.approx(3.0, rel=1e-14)
    integral = np.sum(w * pts[:, 0] ** 5 * pts[:, 1] ** 3)  # (64 - 1)/6 * 1/4
    assert integral == pytest.approx(63 / 24, rel=1e-12)
    x, t = sp.symbols("x t")
    assert domain_measure(po.Interval(x, -1, 2) * po.Interval(t, 0, 0.5)) == pytest.approx(1.5)


def test_energy_term_integrates_the_integrand() -> None:
    """With u fixed to x (a linear net), E = int_0^2 (u'^2/2 + u) dx = 1 + 2 = 3, both quadratures."""
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    for quadrature, n, tol in (("gauss", 16, 1e-12), ("mc", 20000, 2e-2)):
        problem = po.Problem(
            domain=po.Interval(x, 0, 2),
            equations=[],
            conditions=[po.On(sp.Eq(x, 0), u)],
            energy=po.Energy(u.diff(x) ** 2 / 2 + u, quadrature=quadrature, n=n),
        )
        net = torch.nn.Linear(1, 1).double()
        with torch.no_grad():
            net.weight.fill_(1.0)
            net.bias.fill_(0.0)
        model = po.nn.PINN(net, problem.unknowns)
        terms = constraint_terms(problem.constraints)
        gen = torch.Generator().manual_seed(0)
        pts = constraint_points(
            problem.constraints, problem.domain, {}, interior=10, boundary=1, generator=gen,
            dtype=torch.float64, device=torch.device("cpu"),
        )  # fmt: skip
        objective = Objective(terms, problem.unknowns)
        _, losses = objective(model, pts)
        assert float(losses[0].detach()) == pytest.approx(3.0, rel=tol), quadrature
        # a subset of the points (a mini-batch) still estimates the same integral
        half = {k: v.take(torch.arange(0, len(v), 2)) for k, v in pts.items()}
        _, losses = objective(model, half)
        assert float(losses[0].detach()) == pytest.approx(3.0, rel=5e-2), quadrature
