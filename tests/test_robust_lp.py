"""Robust linear programs against their robust counterparts solved by scipy.optimize.linprog.

The pinnopt side knows nothing about counterparts: each uncertain constraint row is a
squared-hinge penalty ``rho * max(0, a(xi) . x - b)^2`` whose worst case over the set is
found by vertex enumeration (exact: the penalty is convex in ``xi``). The penalty moves the
optimum by about ``multiplier / (2 rho)``, hence the tolerances.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import linprog

import pinnopt as po
from pinnopt.declare.uncertainty.space import Uncertain, UncertaintySpace
from pinnopt.losses import ResidualTerm
from pinnopt.robust import RobustTerm

from .robust_helpers import ValueTerm, scalar, train

RHO = 1e5


def _solve_lp(c, rows, n: int, upper: float | None = None) -> np.ndarray:
    """max c.x subject to rows (each: a list of (symbols, set, a0, b)) and 0 <= x (<= upper)."""
    xs = sp.symbols(f"x1:{n + 1}")
    terms = [ValueTerm("objective", scalar(-sum(ci * xi for ci, xi in zip(c, xs, strict=True)), xs))]
    for i, (syms, uset, b) in enumerate(rows):
        lhs = sum(a * x for a, x in zip(syms, xs, strict=True))
        hinge = ResidualTerm(f"row{i}", "p", scalar(sp.Max(0, lhs - b), [*xs, *syms]), weight=RHO)
        space = UncertaintySpace([Uncertain(tuple(syms), uset)])
        terms.append(RobustTerm(None, [hinge], space, method=po.robust.Vertices(), keep=64))
    for j, x in enumerate(xs):
        terms.append(ResidualTerm(f"pos{j}", "p", scalar(sp.Max(0, -x), xs), weight=RHO))
        if upper is not None:
            terms.append(ResidualTerm(f"up{j}", "p", scalar(sp.Max(0, x - upper), xs), weight=RHO))
    m, _ = train(terms, dict.fromkeys(xs, 0.0), [po.optim.LBFGS(steps=300)])
    return np.array([m.parameter_values()[str(x)] for x in xs])


def test_box_uncertain_lp_matches_its_robust_counterpart() -> None:
    # max 3 x1 + 2 x2  s.t.  a1 . x <= 4, a2 . x <= 6, x >= 0, every coefficient +-10 %.
    a0 = np.array([[1.0, 1.0], [2.0, 1.0]])
    b = np.array([4.0, 6.0])
    d = 0.1 * a0
    c = np.array([3.0, 2.0])
    rows = [
        (sp.symbols(f"a{i}_1 a{i}_2"), po.robust.BoxSet(a0[i] - d[i], a0[i] + d[i]), b[i]) for i in range(2)
    ]
    x = _solve_lp(c, rows, 2)
    # Robust counterpart for x >= 0: the worst coefficients are the upper ends, (a0 + d) x <= b.
    ref = linprog(-c, A_ub=a0 + d, b_ub=b, bounds=[(0, None)] * 2)
    nominal = linprog(-c, A_ub=a0, b_ub=b, bounds=[(0, None)] * 2)
    assert ref.status == 0 and nominal.status == 0
    np.testing.assert_allclose(x, ref.x, atol=1e-3)
    assert c @ x == pytest.approx(-ref.fun, rel=1e-4)
    assert -nominal.fun > -ref.fun + 0.5  # robustness costs something here


def _budget_counterpart(c, a0, d, b, gamma: float, upper: float) -> float:
    """Bertsimas-Sim: a0.x + gamma p + sum q <= b, p + q_j >= d_j x_j, p, q >= 0 (x >= 0)."""
    n = len(c)
    obj = np.concatenate([-c, [0.0], np.zeros(n)])
    row = np.concatenate([a0, [gamma], np.ones(n)])
    link = np.hstack([np.diag(d), -np.ones((n, 1)), -np.eye(n)])  # d_j x_j - p - q_j <= 0
    res = linprog(
        obj,
        A_ub=np.vstack([row, link]),
        b_ub=np.concatenate([[b], np.zeros(n)]),
        bounds=[(0, upper)] * n + [(0, None)] * (n + 1),
    )
    assert res.status == 0
    return -res.fun


def test_budgeted_set_interpolates_between_nominal_and_full_box() -> None:
    c = np.array([2.0, 3.0, 4.0])
    a0 = np.array([1.0, 2.0, 3.0])
    d = np.array([0.3, 0.6, 0.9])
    b = 4.0
    syms = sp.symbols("a1:4")
    values = {}
    for gamma in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
        x = _solve_lp(c, [(syms, po.robust.Budget(a0, d, gamma), b)], 3, upper=1.0)
        values[gamma] = c @ x
        assert values[gamma] == pytest.approx(_budget_counterpart(c, a0, d, b, gamma, 1.0), rel=1e-3), gamma
    box = c @ _solve_lp(c, [(syms, po.robust.BoxSet(a0 - d, a0 + d), b)], 3, upper=1.0)
    nominal = linprog(-c, A_ub=a0[None], b_ub=[b], bounds=[(0, 1.0)] * 3)
    assert values[0.0] == pytest.approx(-nominal.fun, rel=1e-4)  # Gamma = 0: the nominal LP
    assert values[3.0] == pytest.approx(box, rel=1e-6)  # Gamma = n: the full box
    ordered = [values[g] for g in sorted(values)]
    assert all(x > y for x, y in itertools.pairwise(ordered)), ordered  # more budget, less value
