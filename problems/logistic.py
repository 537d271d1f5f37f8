"""Logistic growth u' = r u (1 - u / K) (nonlinear ODE)."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "logistic"
DESCRIPTION = "Logistic growth u' = 2 u (1 - u) on [0, 5], u(0) = 0.1; exact 1 / (1 + 9 exp(-2 t))"
TARGET = 1e-4


def make_problem() -> po.Problem:
    t = sp.Symbol("t")
    u = sp.Function("u")(t)
    return po.Problem(
        domain=po.Interval(t, 0, 5),
        equations=[u.diff(t) - 2 * u * (1 - u)],
        conditions=[po.On(sp.Eq(t, 0), u - sp.Rational(1, 10))],
        exact=1 / (1 + 9 * sp.exp(-2 * t)),
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=256, boundary=1),
        "phases": [po.Adam(steps=500, lr=5e-3), po.LBFGS(steps=1000)],
        "dtype": "float64",
    }
