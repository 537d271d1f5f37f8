"""Heat equation in 1-D."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "heat1d"
DESCRIPTION = "Heat u_t = 0.4 u_xx on [0,1]^2, u(0)=u(1)=0, u0 = sin(pi x); exact exp(-0.4 pi^2 t) sin(pi x)"
TARGET = 1e-3


def make_problem() -> po.Problem:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    a = sp.Rational(2, 5)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - a * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(t, 0), u - sp.sin(sp.pi * x)),
        ],
        exact=sp.exp(-a * sp.pi**2 * t) * sp.sin(sp.pi * x),
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    """MLP 20 x 3, Adam then Levenberg-Marquardt, side and initial values exact (float64).

    Adam 1000 + LevenbergMarquardt 100 against the previous Adam 1000 + L-BFGS 2000 on 32 x 3,
    side by side, one thread (``python -m benchmarks.lm_recommended heat1d --seeds 0 1 2``):
    rel L2 2.4e-6, 2.7e-7, 1.1e-6 in 52, 53, 50 s of CPU (seeds 0, 1, 2) against 1.5e-5,
    1.1e-5, 1.9e-5 in 86, 81, 77 s. With soft conditions (Adam + L-BFGS): 2.4e-4.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=2000, boundary=100),
        "phases": [po.optim.Adam(steps=1000, lr=2e-3), po.optim.LevenbergMarquardt(steps=100)],
        "hard_constraints": True,
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve heat1d --quick``).

    32 x 3, 1000 points, exact side and initial values, Adam 500 + L-BFGS 1000.
    Measured rel L2 2.8e-05, 3.7e-05, 3.3e-05 (seeds 0, 1, 2; 3 x target 3e-03), at most 23
    s of CPU on one thread: ``python -m benchmarks.quick heat1d --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=32, depth=3),
        "collocation": po.Collocation(interior=1000, boundary=100),
        "phases": [po.optim.Adam(steps=500, lr=2e-3), po.optim.LBFGS(steps=1000)],
        "hard_constraints": True,
        "dtype": "float64",
    }
