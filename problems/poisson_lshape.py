"""Poisson on an L-shaped polygon with the Dirichlet condition on the whole boundary."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "poisson_lshape"
DESCRIPTION = (
    "-lap u = (pi^2 / 2) u on the L-shape [-1,1]^2 minus [0,1]^2, u = exact on the whole boundary; "
    "exact u = cos(pi x / 2) cos(pi y / 2)"
)
TARGET = 1e-2


def make_problem() -> po.Problem:
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    exact = sp.cos(sp.pi * x / 2) * sp.cos(sp.pi * y / 2)
    domain = po.Polygon((x, y), [(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)])
    return po.Problem(
        domain=domain,
        equations=[-u.diff(x, 2) - u.diff(y, 2) - sp.pi**2 / 2 * exact],
        conditions=[po.Dirichlet("boundary", u, exact)],
        exact=exact,
        name=NAME,
        description=DESCRIPTION,
        eval_grid=101,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=300, boundary=120, sampler="sobol"),
        "phases": [po.optim.Adam(steps=200, lr=3e-3), po.optim.LBFGS(steps=350)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve poisson_lshape --quick``).

    20 x 3, 300 + 120 points, Adam 200 + L-BFGS 350 (the recommended configuration: seconds).
    Measured rel L2 3.0e-03, 1.9e-03, 3.3e-03 (seeds 0, 1, 2; 3 x target 3e-02), at most 3 s
    of CPU on one thread: ``python -m benchmarks.quick poisson_lshape --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=300, boundary=120, sampler="sobol"),
        "phases": [po.optim.Adam(steps=200, lr=3e-3), po.optim.LBFGS(steps=350)],
        "dtype": "float64",
    }
