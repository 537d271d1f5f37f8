"""Exponential decay u' = -k u."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "decay"
DESCRIPTION = "Exponential decay u' = -2 u on [0, 2], u(0) = 1; exact exp(-2 t)"
TARGET = 1e-4


def make_problem() -> po.Problem:
    t = sp.Symbol("t")
    u = sp.Function("u")(t)
    return po.Problem(
        domain=po.Interval(t, 0, 2),
        equations=[u.diff(t) + 2 * u],
        conditions=[po.On(sp.Eq(t, 0), u - 1)],
        exact=sp.exp(-2 * t),
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=2),
        "collocation": po.Collocation(interior=128, boundary=1),
        "phases": [po.optim.Adam(steps=300, lr=1e-2), po.optim.LBFGS(steps=500)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve decay --quick``).

    20 x 2, 128 points, Adam 300 + L-BFGS 500 (the recommended configuration: seconds).
    Measured rel L2 3.0e-06, 5.5e-06, 2.8e-05 (seeds 0, 1, 2; 3 x target 3e-04), at most 4 s
    of CPU on one thread: ``python -m benchmarks.quick decay --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=2),
        "collocation": po.Collocation(interior=128, boundary=1),
        "phases": [po.optim.Adam(steps=300, lr=1e-2), po.optim.LBFGS(steps=500)],
        "dtype": "float64",
    }
