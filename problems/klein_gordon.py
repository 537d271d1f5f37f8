"""Nonlinear Klein-Gordon equation with a manufactured solution."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "klein_gordon"
DESCRIPTION = "Klein-Gordon u_tt - u_xx + u^3 = f on [0,1] x [0,1]; manufactured u = x cos(5 pi t) + (x t)^3"
TARGET = 1e-3


def make_problem() -> po.Problem:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    exact = x * sp.cos(5 * sp.pi * t) + (x * t) ** 3
    op = lambda w: w.diff(t, 2) - w.diff(x, 2) + w**3  # noqa: E731
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[op(u) - sp.expand(op(exact))],
        conditions=[
            po.On(sp.Eq(x, 0), u - exact.subs(x, 0)),
            po.On(sp.Eq(x, 1), u - exact.subs(x, 1)),
            po.On(sp.Eq(t, 0), u - exact.subs(t, 0)),
            po.On(sp.Eq(t, 0), u.diff(t) - exact.diff(t).subs(t, 0), name="u_t(t=0)"),
        ],
        exact=exact,
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    """Exact side and initial values (``u_t(x, 0)`` stays soft), float64 Adam then Levenberg-Marquardt.

    MLP 20 x 3, Adam 1000 + LevenbergMarquardt 100, against the previous 32 x 4 with Adam 2000
    + L-BFGS 3000, side by side, one thread (``python -m benchmarks.lm_recommended klein_gordon
    --seeds 0 1 2``): rel L2 8.7e-7, 5.4e-7, 3.6e-7 in 89, 87, 86 s of CPU (seeds 0, 1,
    2) against 2.7e-6, 1.2e-5, 4.9e-6 in 429, 379, 439 s. With soft side and initial values
    (32 x 4, Adam + L-BFGS): 3.6e-2 in 338 s.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=3000, boundary=200),
        "phases": [po.optim.Adam(steps=1000, lr=1e-3), po.optim.LevenbergMarquardt(steps=100)],
        "hard_constraints": "where_possible",  # u_t(t=0) stays a loss term
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve klein_gordon --quick``).

    32 x 4, 1500 points, exact side and initial values, Adam 1000 + L-BFGS 1500.
    Measured rel L2 8.4e-06, 1.4e-05, 2.4e-05 (seeds 0, 1, 2; 3 x target 3e-03), at most 124
    s of CPU on one thread: ``python -m benchmarks.quick klein_gordon --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=32, depth=4),
        "collocation": po.Collocation(interior=1500, boundary=200),
        "phases": [po.optim.Adam(steps=1000, lr=1e-3), po.optim.LBFGS(steps=1500)],
        "hard_constraints": "where_possible",
        "dtype": "float64",
    }
