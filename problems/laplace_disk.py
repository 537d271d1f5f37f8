"""Laplace's equation on the unit disk with a Robin condition on the circle (curved normals)."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "laplace_disk"
DESCRIPTION = "lap u = 0 on the unit disk, u + du/dn = g on the circle (n = (x, y)); exact u = e^x cos y"
TARGET = 1e-3


def make_problem() -> po.Problem:
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    exact = sp.exp(x) * sp.cos(y)
    g = exact + x * exact.diff(x) + y * exact.diff(y)  # on the unit circle the normal is (x, y)
    return po.Problem(
        domain=po.Disk((x, y), center=(0, 0), radius=1),
        equations=[u.diff(x, 2) + u.diff(y, 2)],
        conditions=[po.Robin("circle", u, 1, 1, g)],
        exact=exact,
        name=NAME,
        description=DESCRIPTION,
        eval_grid=101,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=2),
        "collocation": po.Collocation(interior=300, boundary=60, sampler="sobol"),
        "phases": [po.optim.Adam(steps=150, lr=3e-3), po.optim.LBFGS(steps=200)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve laplace_disk --quick``).

    20 x 2, 300 + 60 points, Adam 150 + L-BFGS 200 (the recommended configuration: seconds).
    Measured rel L2 1.0e-04, 1.1e-04, 9.2e-05 (seeds 0, 1, 2; 3 x target 3e-03), at most 3 s
    of CPU on one thread: ``python -m benchmarks.quick laplace_disk --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=2),
        "collocation": po.Collocation(interior=300, boundary=60, sampler="sobol"),
        "phases": [po.optim.Adam(steps=150, lr=3e-3), po.optim.LBFGS(steps=200)],
        "dtype": "float64",
    }
