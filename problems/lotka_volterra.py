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
    """Hard initial values, causal weighting (eps up to 1e4), 2000 points, float64 L-BFGS.

    On this long horizon (about 1.5 periods) plain training with soft initial values fits a
    wrong trajectory (rel L2 0.83 / 0.71 with 1000 points and 2000 Adam + 3000 L-BFGS); the
    causal slab weights make the early times converge first.
    Measured (``python -m benchmarks.accuracy lotka_volterra``, float64, 1 thread): 1.8e-5 (x and y)
    in 70 s.
    """
    return {
        "model": po.nn.MLP(width=32, depth=4),
        "collocation": po.Collocation(interior=2000, boundary=1),
        "phases": [po.optim.Adam(steps=3000, lr=1e-3), po.optim.LBFGS(steps=3000)],
        "hard_constraints": True,
        "strategies": [po.balance.Causal(slabs=64, eps=(10.0, 100.0, 1000.0, 10000.0))],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve lotka_volterra --quick``).

    32 x 4, 1000 points, hard initial values, causal weights, Adam 2000 + L-BFGS 1000.
    Measured rel L2 1.9e-04, 1.4e-04, 2.7e-04 (seeds 0, 1, 2; 3 x target 3e-03), at most 36
    s of CPU on one thread: ``python -m benchmarks.quick lotka_volterra --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=32, depth=4),
        "collocation": po.Collocation(interior=1000, boundary=1),
        "phases": [po.optim.Adam(steps=2000, lr=1e-3), po.optim.LBFGS(steps=1000)],
        "hard_constraints": True,
        "strategies": [po.balance.Causal(slabs=64, eps=(10.0, 100.0, 1000.0, 10000.0))],
        "dtype": "float64",
    }
