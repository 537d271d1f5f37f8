"""Lotka-Volterra predator-prey system; reference by scipy solve_ivp at tight tolerance."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

import pinnopt as po

NAME = "lotka_volterra"
DESCRIPTION = "Lotka-Volterra x' = x - x y, y' = x y - y on [0, 10], x(0) = 2, y(0) = 1; solve_ivp reference"
TARGET = 1e-3
T_END = 10.0


@lru_cache(maxsize=1)
def _reference():
    return solve_ivp(
        lambda _, z: [z[0] - z[0] * z[1], z[0] * z[1] - z[1]],
        (0.0, T_END),
        [2.0, 1.0],
        method="DOP853",
        rtol=1e-12,
        atol=1e-12,
        dense_output=True,
    )


def reference(points: np.ndarray) -> np.ndarray:
    """(x, y) at the times ``points[:, 0]`` from a DOP853 solve with rtol = atol = 1e-12."""
    sol = _reference()
    return sol.sol(points[:, 0]).T


def make_problem() -> po.Problem:
    t = sp.Symbol("t")
    x, y = sp.Function("x")(t), sp.Function("y")(t)
    return po.Problem(
        domain=po.Interval(t, 0, T_END),
        equations=[x.diff(t) - (x - x * y), y.diff(t) - (x * y - y)],
        conditions=[po.On(sp.Eq(t, 0), x - 2, name="x0"), po.On(sp.Eq(t, 0), y - 1, name="y0")],
        unknowns=[x, y],
        exact=reference,
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.MLP(width=32, depth=4),
        "collocation": po.Collocation(interior=1000, boundary=1),
        "phases": [po.Adam(steps=2000, lr=2e-3), po.LBFGS(steps=3000)],
        "dtype": "float64",
    }
