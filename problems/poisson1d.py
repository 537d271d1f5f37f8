"""Poisson equation in 1-D with homogeneous Dirichlet conditions."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "poisson1d"
DESCRIPTION = "Poisson -u'' = pi^2 sin(pi x) on [-1, 1], u(+-1) = 0; exact u = sin(pi x)"
TARGET = 1e-4


def make_problem() -> po.Problem:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u)],
        exact=sp.sin(sp.pi * x),
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=1),
        "phases": [po.optim.Adam(steps=500, lr=1e-3), po.optim.LBFGS(steps=1000)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve poisson1d --quick``).

    20 x 3, 200 points, Adam 500 + L-BFGS 1000 (the recommended configuration: seconds).
    Measured rel L2 3.7e-06, 3.2e-06, 4.3e-06 (seeds 0, 1, 2; 3 x target 3e-04), at most 7 s
    of CPU on one thread: ``python -m benchmarks.quick poisson1d --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=1),
        "phases": [po.optim.Adam(steps=500, lr=1e-3), po.optim.LBFGS(steps=1000)],
        "dtype": "float64",
    }
