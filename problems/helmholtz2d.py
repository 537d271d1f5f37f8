"""Helmholtz equation on the unit square with k = 4 pi (two wavelengths per side)."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "helmholtz2d"
DESCRIPTION = (
    "Helmholtz -u_xx - u_yy - k^2 u = k^2 sin(kx) sin(ky), k = 4 pi on [0,1]^2, u = 0 on the boundary"
)
TARGET = 1e-3
K = 4 * sp.pi


def make_problem() -> po.Problem:
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(y, 0, 1),
        equations=[-u.diff(x, 2) - u.diff(y, 2) - K**2 * u - K**2 * sp.sin(K * x) * sp.sin(K * y)],
        conditions=[po.On(sp.Eq(s, v), u) for s in (x, y) for v in (0, 1)],
        exact=sp.sin(K * x) * sp.sin(K * y),
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    """Sine activations, exact Dirichlet values through the output transform, float64 L-BFGS.

    Measured (``python -m benchmarks.accuracy helmholtz2d``, float64, 1 thread): 1.35e-4 in 500 s
    (4000 L-BFGS steps: 3.5e-4 in 369 s; soft boundary values, 4000 points, 2000 Adam +
    3000 L-BFGS: 3.8e-3 in 733 s). A step budget, no time limit: the measured run spent its
    whole budget before the 560 s time limit it then had could fire.
    """
    return {
        "model": po.nn.MLP(width=64, depth=3, activation="sin"),
        "collocation": po.Collocation(interior=2500, boundary=200),
        "phases": [po.optim.Adam(steps=1000, lr=1e-3), po.optim.LBFGS(steps=6500)],
        "hard_constraints": True,
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve helmholtz2d --quick``).

    20 x 4 sine network, 1500 points, exact Dirichlet values, 200 Adam then 150 float64
    Levenberg-Marquardt steps. Measured (``python -m benchmarks.quick helmholtz2d --seeds 0 1 2``,
    one thread): rel L2 8.9e-6, 4.2e-5, 1.0e-5 (seeds 0, 1, 2; 3 x target 3e-3, met) in at most
    86 s of CPU (a scratch run of seed 3: 3.7e-5, 87 s). It replaces 64 x 3 sine, 1500 points,
    Adam 500 + L-BFGS 2000 (7.2e-4, 3.02e-3, 4.3e-4: seed 1 missed 3 x target by a hair; 171 s).
    """
    return {
        "model": po.nn.MLP(width=20, depth=4, activation="sin"),
        "collocation": po.Collocation(interior=1500, boundary=200),
        "phases": [po.optim.Adam(steps=200, lr=1e-3), po.optim.LevenbergMarquardt(steps=150)],
        "hard_constraints": True,
        "dtype": "float64",
    }
