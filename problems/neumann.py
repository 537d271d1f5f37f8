"""Poisson in 2-D with non-homogeneous Neumann conditions on two sides."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "neumann"
DESCRIPTION = (
    "Poisson -lap u = (pi^2 - 1) e^x sin(pi y) on [0,1]^2, du/dn given on x = 0, 1 (outward normal), "
    "u = 0 on y = 0, 1; exact u = e^x sin(pi y)"
)
TARGET = 1e-2


def make_problem() -> po.Problem:
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    exact = sp.exp(x) * sp.sin(sp.pi * y)
    return po.Problem(
        domain=po.Box((x, y), (0, 0), (1, 1)),
        equations=[-u.diff(x, 2) - u.diff(y, 2) - (sp.pi**2 - 1) * exact],
        conditions=[
            po.Neumann("x=0", u, -sp.sin(sp.pi * y)),  # du/dn = -u_x on the left side
            po.Neumann("x=1", u, sp.E * sp.sin(sp.pi * y)),
            po.Dirichlet("y=0", u),
            po.Dirichlet("y=1", u),
        ],
        exact=exact,
        name=NAME,
        description=DESCRIPTION,
        eval_grid=101,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=24, sampler="sobol"),
        "phases": [po.optim.Adam(steps=150, lr=3e-3), po.optim.LBFGS(steps=250)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve neumann --quick``).

    20 x 3, 200 + 24 points, Adam 150 + L-BFGS 250 (the recommended configuration: seconds).
    Measured rel L2 2.9e-04, 1.5e-03, 6.4e-04 (seeds 0, 1, 2; 3 x target 3e-02), at most 3 s
    of CPU on one thread: ``python -m benchmarks.quick neumann --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=200, boundary=24, sampler="sobol"),
        "phases": [po.optim.Adam(steps=150, lr=3e-3), po.optim.LBFGS(steps=250)],
        "dtype": "float64",
    }
