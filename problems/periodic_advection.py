"""Advection-diffusion, periodic in space: the classic periodic-boundary problem."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "periodic_advection"
DESCRIPTION = (
    "u_t + u_x = 0.1 u_xx on [0, 2 pi] x [0, 1], periodic in x (u and u_x matched), "
    "u(x, 0) = sin x; exact u = exp(-0.1 t) sin(x - t)"
)
TARGET = 1e-2
NU = sp.Rational(1, 10)


def make_problem() -> po.Problem:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, 0, 2 * sp.pi) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u.diff(x) - NU * u.diff(x, 2)],
        conditions=[po.Periodic(x, u, derivatives=1), po.Initial(t, u, sp.sin(x))],
        exact=sp.exp(-NU * t) * sp.sin(x - t),
        name=NAME,
        description=DESCRIPTION,
        eval_grid=101,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=32, sampler="sobol"),
        "phases": [po.optim.Adam(steps=200, lr=3e-3), po.optim.LBFGS(steps=400)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve periodic_advection --quick``).

    20 x 3, 200 + 32 points, Adam 200 + L-BFGS 400 (the recommended configuration: seconds).
    Measured rel L2 4.8e-03, 6.3e-04, 1.7e-03 (seeds 0, 1, 2; 3 x target 3e-02), at most 4 s
    of CPU on one thread: ``python -m benchmarks.quick periodic_advection --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=32, sampler="sobol"),
        "phases": [po.optim.Adam(steps=200, lr=3e-3), po.optim.LBFGS(steps=400)],
        "dtype": "float64",
    }
