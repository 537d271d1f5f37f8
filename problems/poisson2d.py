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
    """Exact Dirichlet values through the output transform, float64 Adam then Levenberg-Marquardt.

    MLP 20 x 3, Adam 1000 + LevenbergMarquardt 150, against the previous 32 x 3 with Adam 1000
    + L-BFGS 4000, side by side, one thread (``python -m benchmarks.lm_recommended poisson2d
    --seeds 0 1 2``): rel L2 1.7e-7, 4.6e-7, 3.9e-7 in 68, 70, 68 s of CPU (seeds 0, 1, 2)
    against 3.0e-6, 3.6e-6, 2.8e-6 in 188, 189, 178 s. With soft boundary values (1000 Adam +
    2000 L-BFGS, 32 x 3): 2.6e-3 in 219 s.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=2000, boundary=100),
        "phases": [po.optim.Adam(steps=1000, lr=2e-3), po.optim.LevenbergMarquardt(steps=150)],
        "hard_constraints": True,
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve poisson2d --quick``).

    32 x 3, 1000 points, exact Dirichlet values, Adam 500 + L-BFGS 1000.
    Measured rel L2 1.8e-05, 1.3e-05, 1.5e-05 (seeds 0, 1, 2; 3 x target 3e-03), at most 33
    s of CPU on one thread: ``python -m benchmarks.quick poisson2d --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=32, depth=3),
        "collocation": po.Collocation(interior=1000, boundary=100),
        "phases": [po.optim.Adam(steps=500, lr=2e-3), po.optim.LBFGS(steps=1000)],
        "hard_constraints": True,
        "dtype": "float64",
    }
