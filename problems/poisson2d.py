"""Poisson equation on the unit square (manufactured solution)."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "poisson2d"
DESCRIPTION = "Poisson -lap u = f on [0,1]^2, u = 0 on the boundary; exact u = sin(pi x) sin(2 pi y)"
TARGET = 1e-3


def make_problem() -> po.Problem:
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    exact = sp.sin(sp.pi * x) * sp.sin(2 * sp.pi * y)
    f = -(exact.diff(x, 2) + exact.diff(y, 2))
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(y, 0, 1),
        equations=[-(u.diff(x, 2) + u.diff(y, 2)) - f],
        conditions=[po.On(sp.Eq(s, v), u) for s in (x, y) for v in (0, 1)],
        exact=exact,
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.MLP(width=32, depth=3),
        "collocation": po.Collocation(interior=2000, boundary=100),
        "phases": [po.Adam(steps=1000, lr=2e-3), po.LBFGS(steps=2000)],
        "dtype": "float64",
    }
