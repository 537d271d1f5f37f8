"""Inverse problem: the diffusion coefficient of a 1-D heat equation from noisy data."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

import pinnopt as po

NAME = "diffusion_inverse"
DESCRIPTION = (
    "u_t = D u_xx on [0, 1] x [0, 1], u = 0 at x = 0, 1, u(x, 0) = sin(pi x); D (true 0.1, initial "
    "guess 0.5) fitted to 200 observations of u with 1 % Gaussian noise (seeded)"
)
TARGET = 1e-2
D_TRUE = 0.1


def exact_expression(x: sp.Symbol, t: sp.Symbol, d: float = D_TRUE) -> sp.Expr:
    """u = exp(-D pi^2 t) sin(pi x)."""
    return sp.exp(-sp.Float(d) * sp.pi**2 * t) * sp.sin(sp.pi * x)


def observations(n: int = 200, noise: float = 0.01, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform random points and ``u`` there plus Gaussian noise of ``noise`` times its RMS."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0.0, 1.0, size=(n, 2))
    clean = np.exp(-D_TRUE * np.pi**2 * pts[:, 1]) * np.sin(np.pi * pts[:, 0])
    rms = float(np.sqrt(np.mean(clean**2)))
    return pts, clean + noise * rms * rng.standard_normal(n)


def make_problem(n_obs: int = 200, noise: float = 0.01, seed: int = 0, init: float = 0.5) -> po.Problem:
    """The heat equation with unknown ``D``; ``n_obs`` observations with relative ``noise``."""
    x, t, d = sp.symbols("x t D")
    u = sp.Function("u")(x, t)
    pts, values = observations(n_obs, noise, seed)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - d * u.diff(x, 2)],
        conditions=[po.Dirichlet("x=0", u), po.Dirichlet("x=1", u), po.Initial(t, u, sp.sin(sp.pi * x))],
        parameters=[po.Parameter(d, init=init, exact=D_TRUE)],
        data=[po.Observations(pts, {u: values})],
        exact=exact_expression(x, t),
        name=NAME,
        description=DESCRIPTION,
        eval_grid=101,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=1000, boundary=50, sampler="sobol"),
        "phases": [po.optim.Adam(steps=1000, lr=3e-3), po.optim.LBFGS(steps=3000)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve diffusion_inverse --quick``).

    20 x 3, 1000 points, Adam 1000 + L-BFGS 1500 (recommended: 3000 L-BFGS steps).
    Measured coefficient error 2.3e-03, 2.2e-03, 2.2e-03 (seeds 0, 1, 2; 3 x target 3e-02),
    at most 25 s of CPU on one thread: ``python -m benchmarks.quick diffusion_inverse
    --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=20, depth=3),
        "collocation": po.Collocation(interior=1000, boundary=50, sampler="sobol"),
        "phases": [po.optim.Adam(steps=1000, lr=3e-3), po.optim.LBFGS(steps=1500)],
        "dtype": "float64",
    }
