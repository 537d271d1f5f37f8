"""Euler-Bernoulli cantilever beam: a fourth-order boundary-value problem."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "beam"
DESCRIPTION = "Cantilever beam u'''' = -1 on [0,1], u(0) = u'(0) = 0, u''(1) = u'''(1) = 0; exact polynomial"
TARGET = 1e-4


def make_problem() -> po.Problem:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 4) + 1],
        conditions=[
            po.On(sp.Eq(x, 0), u, name="u(0)"),
            po.On(sp.Eq(x, 0), u.diff(x), name="u'(0)"),
            po.On(sp.Eq(x, 1), u.diff(x, 2), name="u''(1)"),
            po.On(sp.Eq(x, 1), u.diff(x, 3), name="u'''(1)"),
        ],
        exact=-(x**4) / 24 + x**3 / 6 - x**2 / 4,
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=1),
        "phases": [po.optim.Adam(steps=1000, lr=2e-3), po.optim.LBFGS(steps=2000)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve beam --quick``).

    20 x 3, 200 points, Adam 1000 + L-BFGS 1000 (recommended: 2000 L-BFGS steps).
    Measured rel L2 3.3e-05, 8.6e-06, 1.4e-05 (seeds 0, 1, 2; 3 x target 3e-04), at most 21
    s of CPU on one thread: ``python -m benchmarks.quick beam --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=1),
        "phases": [po.optim.Adam(steps=1000, lr=2e-3), po.optim.LBFGS(steps=1000)],
        "dtype": "float64",
    }
