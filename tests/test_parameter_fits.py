"""Bounded and equality-constrained parameter fits against scipy with true hard constraints.

The objective is a least-squares fit of the ODE solution u(t) = A exp(-k t) (of u' = -k u)
to data, a PDE-free objective of the parameters, so scipy solves the identical J.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize

import pinnopt as po

A, k = sp.symbols("A k")
T = np.linspace(0, 2, 21)
Y = 2.0 * np.exp(-1.5 * T) + 0.01 * np.sin(7 * T)
J = sum((A * sp.exp(-k * t) - y) ** 2 for t, y in zip(T, Y, strict=True)) / len(T)
_f = sp.lambdify((A, k), J)
_g = sp.lambdify((A, k), [J.diff(A), J.diff(k)])
START = {A: 1.0, k: 0.5}


def scipy_fit(lower: float | None = None, upper: float | None = None) -> np.ndarray:
    """SLSQP with the bound on k as a hard constraint."""
    cons = []
    if lower is not None:
        cons.append({"type": "ineq", "fun": lambda p: p[1] - lower, "jac": lambda p: np.array([0.0, 1.0])})
    if upper is not None:
        cons.append({"type": "ineq", "fun": lambda p: upper - p[1], "jac": lambda p: np.array([0.0, -1.0])})
    res = minimize(
        lambda p: _f(*p), [1.0, 0.5], jac=lambda p: np.array(_g(*p)), method="SLSQP", constraints=cons,
        options={"ftol": 1e-15, "maxiter": 500},
    )  # fmt: skip
    assert res.success, res.message
    return res.x


def test_active_bound_with_continuation_agrees_with_scipy_to_1e_3() -> None:
    ref = scipy_fit(upper=1.2)
    assert ref[1] == pytest.approx(1.2, abs=1e-9)  # the bound is active
    fit = po.workflows.fit_parameters(
        J, START, bounds=[po.Bound(k <= 1.2, m=1e5, continuation=po.Continuation(10.0))], rounds=5
    )
    assert abs(fit.values["A"] - ref[0]) < 1e-3 and abs(fit.values["k"] - ref[1]) < 1e-3, (fit.values, ref)
    entry = fit.feasibility["bound:k<=1.2"]
    assert entry.active and entry.max_violation == 0.0
    # the barrier's force estimates the Lagrange multiplier |dJ/dk| of the hard-constrained optimum
    assert entry.multiplier == pytest.approx(abs(_g(*ref)[1]), rel=1e-2)


def test_m_1e4_without_continuation_is_within_the_predicted_shift() -> None:
    ref = scipy_fit(upper=1.2)
    fit = po.workflows.fit_parameters(J, START, bounds=[po.Bound(k <= 1.2, m=1e4)])
    shift = math.log(1e4 / abs(_g(*ref)[1])) / 1e4
    assert fit.values["k"] == pytest.approx(1.2 - shift, abs=2e-5)


def test_inactive_bound_agrees_with_scipy_and_the_unconstrained_optimum() -> None:
    ref = scipy_fit(lower=0.5)
    free = scipy_fit()
    np.testing.assert_allclose(ref, free, atol=1e-8)
    fit = po.workflows.fit_parameters(J, START, bounds=[po.Bound(po.between(k, 0.5, 3.0), m=1e4)])
    assert abs(fit.values["A"] - ref[0]) < 1e-6 and abs(fit.values["k"] - ref[1]) < 1e-6, (fit.values, ref)
    assert not fit.feasibility["bound:k>=0.5"].active and not fit.feasibility["bound:k<=3.0"].active


def test_measured_shift_matches_ln_m_over_dj_divided_by_m() -> None:
    ref = scipy_fit(upper=1.2)
    dj = abs(_g(*ref)[1])
    for m in (1e2, 1e3, 1e4):
        shift = 1.2 - po.workflows.fit_parameters(J, START, bounds=[po.Bound(k <= 1.2, m=m)]).values["k"]
        predicted = math.log(m / dj) / m
        assert shift > 0  # the barrier keeps the optimum feasible (m > |dJ|)
        assert shift == pytest.approx(predicted, rel=0.05), (m, shift, predicted)


def test_log_barrier_shift_is_one_over_m_dj() -> None:
    ref = scipy_fit(upper=1.2)
    dj = abs(_g(*ref)[1])
    m = 1e4
    fit = po.workflows.fit_parameters(J, {A: 1.0, k: 0.5}, bounds=[po.Bound(k <= 1.2, m=m, method="log")])
    assert 1.2 - fit.values["k"] == pytest.approx(1 / (m * dj), rel=0.05)
    with pytest.raises(po.ProblemError, match="strictly inside"):
        po.workflows.fit_parameters(J, {A: 1.0, k: 1.5}, bounds=[po.Bound(k <= 1.2, method="log")])


def test_exact_methods_never_leave_the_bounds() -> None:
    ref = scipy_fit(upper=1.2)
    fit = po.workflows.fit_parameters(
        J, START, bounds=[po.Bound(po.between(k, 0.1, 1.2), method="reparam")], rounds=1
    )
    assert (
        fit.values["k"] <= 1.2 and abs(fit.values["A"] - ref[0]) < 1e-3 and abs(fit.values["k"] - 1.2) < 1e-3
    )
    # projected gradient descent on a cheaper objective with the optimum on the bound k <= 1.2
    quadratic = (k - 2) ** 2 + (A - k) ** 2
    fit = po.workflows.fit_parameters(
        quadratic,
        START,
        bounds=[po.Bound(k <= 1.2, method="project")],
        phases=[po.optim.Adam(steps=1500, lr=1e-2)],
    )
    assert fit.values["k"] == 1.2  # projection puts it exactly on the bound
    assert abs(fit.values["A"] - 1.2) < 1e-3
    with pytest.raises(po.ProblemError, match="strictly inside"):
        po.workflows.fit_parameters(J, {A: 1.0, k: 2.0}, bounds=[po.Bound(k <= 1.2, method="reparam")])


def test_augmented_lagrangian_meets_an_equality_to_1e_6() -> None:
    a, b = sp.symbols("a b")
    # min (a - 1)^2 + (b - 2)^2  s.t.  a + b = 1   ->  a = 0, b = 1, multiplier 2
    objective = (a - 1) ** 2 + (b - 2) ** 2
    # exact inner solves: each round shrinks the multiplier error by 2 / (2 + 4 rho) = 1/21
    fit = po.workflows.fit_parameters(
        objective, {a: 3.0, b: -1.0}, equalities=[po.Equality(sp.Eq(a + b, 1), rho=10.0)], rounds=8
    )
    assert abs(fit.values["a"] + fit.values["b"] - 1) <= 1e-6
    assert abs(fit.values["a"]) <= 1e-6 and abs(fit.values["b"] - 1) <= 1e-6
    assert fit.feasibility.max_violation <= 1e-6
    # the plain quadratic penalty with the same rho stops at a = 1/11, so a + b - 1 = 2/11
    pen = po.workflows.fit_parameters(
        objective, {a: 3.0, b: -1.0}, equalities=[po.Equality(sp.Eq(a + b, 1), method="penalty")]
    )
    assert abs(pen.values["a"] + pen.values["b"] - 1) > 1e-2


def test_regularization_encourages_without_guaranteeing() -> None:
    c = sp.Symbol("c")
    objective = (c - 3) ** 2
    l2 = po.workflows.fit_parameters(objective, {c: 0.0}, regularization=[po.L2(c, prior=1.0, weight=1.0)])
    assert l2.values["c"] == pytest.approx(2.0, abs=1e-8)  # the compromise (3 + 1) / 2
    inside = po.workflows.fit_parameters(
        objective, {c: 0.0}, regularization=[po.Range(c, lower=0.0, upper=5.0, weight=10.0)]
    )
    assert inside.values["c"] == pytest.approx(3.0, abs=1e-8)  # no pull inside the range
    outside = po.workflows.fit_parameters(
        objective, {c: 0.0}, regularization=[po.Range(c, upper=2.0, weight=1.0)]
    )
    assert outside.values["c"] == pytest.approx(2.5, abs=1e-8)  # pulled back, not held: 2.5 > 2
    l1 = po.workflows.fit_parameters(
        (c - 1.2) ** 2,
        {c: 0.0},
        regularization=[po.L1(c, prior=1.0, weight=1.0)],
        phases=[po.optim.Adam(steps=1500, lr=2e-3)],
    )
    assert abs(l1.values["c"] - 1.0) < 1e-2  # |dJ| = 0.4 < weight: held at the prior
