"""Inverse problem: the three Lorenz parameters from observations of a trajectory."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

import pinnopt as po

NAME = "lorenz_inverse"
DESCRIPTION = (
    "Lorenz x' = s (y - x), y' = x (r - z) - y, z' = x y - b z on t in [0, 3], x(0) = (-8, 7, 27), "
    "solved for X = x / 10 (Y, Z alike); s, r, b (true 10, 15, 8/3; initial guesses 1) fitted to "
    "observations of x, y, z at 100 times (reference: scipy solve_ivp, DOP853, rtol = atol = 1e-12)"
)
TARGET = 2e-2
TRUE = {"s": 10.0, "r": 15.0, "b": 8.0 / 3.0}
X0 = (-8.0, 7.0, 27.0)
T_END = 3.0
SCALE = 10.0
"""The unknowns are the states divided by SCALE, so that they are of order one."""


@lru_cache(maxsize=4)
def _solution(sigma: float, rho: float, beta: float, t_end: float = T_END) -> Any:
    from scipy.integrate import solve_ivp

    def rhs(_t: float, s: np.ndarray) -> list[float]:
        x, y, z = s
        return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]

    return solve_ivp(rhs, (0.0, t_end), X0, method="DOP853", rtol=1e-12, atol=1e-12, dense_output=True)


def reference(points: np.ndarray) -> np.ndarray:
    """The scaled states (X, Y, Z) = (x, y, z) / SCALE at times ``points[:, 0]``, shape ``(N, 3)``."""
    times = np.asarray(points, dtype=np.float64)[:, 0]
    sol = _solution(TRUE["s"], TRUE["r"], TRUE["b"], max(T_END, float(times.max(initial=0.0))))
    return sol.sol(times).T / SCALE


def observations(
    n: int = 100, noise: float = 0.0, seed: int = 0, t_end: float = T_END
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` equally spaced times in [0, t_end] and X, Y, Z there (plus relative Gaussian noise)."""
    times = np.linspace(0.0, t_end, n)
    values = reference(times[:, None])
    if noise:
        rng = np.random.default_rng(seed)
        values = values + noise * np.sqrt(np.mean(values**2, axis=0)) * rng.standard_normal(values.shape)
    return times, values


def make_problem(
    n_obs: int = 100,
    noise: float = 0.0,
    seed: int = 0,
    init: float = 1.0,
    data_weight: float = 10.0,
    t_end: float = T_END,
) -> po.Problem:
    """The Lorenz system in X = x / SCALE (Y, Z alike) with unknown ``s, r, b``, observed at ``n_obs`` times.

    With ``x = L X``: ``X' = s (Y - X)``, ``Y' = X (r - L Z) - Y``, ``Z' = L X Y - b Z``. The
    data terms weigh ``data_weight`` (10: fit the trajectory first, the parameters follow);
    ``t_end`` shortens the time window (quick checks).
    """
    t = sp.Symbol("t")
    s, r, b = sp.symbols("s r b")
    x, y, z = (sp.Function(n)(t) for n in "XYZ")
    big = sp.Float(SCALE)
    times, values = observations(n_obs, noise, seed, t_end)
    return po.Problem(
        domain=po.Interval(t, 0, t_end),
        equations=[
            x.diff(t) - s * (y - x),
            y.diff(t) - x * (r - big * z) + y,
            z.diff(t) - big * x * y + b * z,
        ],
        conditions=[
            po.Initial(t, x, X0[0] / SCALE),
            po.Initial(t, y, X0[1] / SCALE),
            po.Initial(t, z, X0[2] / SCALE),
        ],
        parameters=[po.Parameter(p, init=init, exact=TRUE[str(p)]) for p in (s, r, b)],
        data=[
            po.Observations(times, {x: values[:, 0], y: values[:, 1], z: values[:, 2]}, weight=data_weight)
        ],
        unknowns=[x, y, z],
        exact=reference,
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=40, depth=3),
        "collocation": po.Collocation(interior=400, boundary=1, sampler="sobol"),
        "phases": [po.optim.Adam(steps=1000, lr=3e-3), po.optim.LBFGS(steps=4000)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve lorenz_inverse --quick``).

    40 x 3, 400 points, Adam 1000 + L-BFGS 2000 (recommended: 4000 L-BFGS steps).
    Measured coefficient error 6.8e-03, 3.2e-02, 3.9e-03 (seeds 0, 1, 2; 3 x target 6e-02),
    at most 29 s of CPU on one thread: ``python -m benchmarks.quick lorenz_inverse --seeds 0
    1 2``.
    """
    return {
        "model": po.nn.MLP(width=40, depth=3),
        "collocation": po.Collocation(interior=400, boundary=1, sampler="sobol"),
        "phases": [po.optim.Adam(steps=1000, lr=3e-3), po.optim.LBFGS(steps=2000)],
        "dtype": "float64",
    }
