"""The wave equation: second order in time, with initial value and initial velocity."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "wave"
DESCRIPTION = (
    "u_tt = u_xx on [0, 1] x [0, 0.5], u = 0 at x = 0, 1, u(x, 0) = sin(pi x), u_t(x, 0) = pi sin(pi x); "
    "exact u = sin(pi x) (cos(pi t) + sin(pi t))"
)
TARGET = 1e-2


def make_problem() -> po.Problem:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    pi = sp.pi
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, sp.Rational(1, 2)),
        equations=[u.diff(t, 2) - u.diff(x, 2)],
        conditions=[
            po.Dirichlet("x=0", u),
            po.Dirichlet("x=1", u),
            po.Initial(t, u, sp.sin(pi * x)),
            po.InitialRate(t, u, pi * sp.sin(pi * x), name="t=0:rate"),
        ],
        exact=sp.sin(pi * x) * (sp.cos(pi * t) + sp.sin(pi * t)),
        name=NAME,
        description=DESCRIPTION,
        eval_grid=101,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=32, depth=3),
        "collocation": po.Collocation(interior=300, boundary=40, sampler="sobol"),
        "phases": [po.optim.Adam(steps=200, lr=3e-3), po.optim.LBFGS(steps=400)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve wave --quick``).

    32 x 3, 300 + 40 points, Adam 200 + L-BFGS 400 (the recommended configuration: seconds).
    Measured rel L2 4.4e-03, 1.5e-02, 1.2e-02 (seeds 0, 1, 2; 3 x target 3e-02), at most 6 s
    of CPU on one thread: ``python -m benchmarks.quick wave --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=32, depth=3),
        "collocation": po.Collocation(interior=300, boundary=40, sampler="sobol"),
        "phases": [po.optim.Adam(steps=200, lr=3e-3), po.optim.LBFGS(steps=400)],
        "dtype": "float64",
    }
