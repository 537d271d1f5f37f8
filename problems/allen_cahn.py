"""Allen-Cahn in 1-D with periodic boundaries: sharp interfaces, a hard case for PINNs."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import sympy as sp
import torch

import pinnopt as po

from ._etdrk4 import PeriodicReference, allen_cahn

NAME = "allen_cahn"
DESCRIPTION = (
    "Allen-Cahn u_t = 1e-4 u_xx + 5 u - 5 u^3 on [-1,1] x [0,1], periodic in x (exactly, by the "
    "periodic embedding), u0 = x^2 cos(pi x); Fourier spectral ETDRK4 reference"
)
TARGET = 1e-2
NU = 1e-4
GAMMA = 5.0
MODES = 2048
STEP = 1e-3
DENSE_UNTIL = 0.05
"""Snapshots after every step until this time, then every 5e-3: the cubic spline in time
through them then follows the fast early dynamics (with snapshots every 5e-3 throughout, its
time derivative missed the PDE by up to 1.7e-3 at t = 0 away from x = +-1)."""
CHECK_RTOL = {"t=0": 1e-3}
"""`pinnopt check` tolerance of the initial condition. The periodic extension of u0 has a slope
jump at x = +-1 (u0' = -2 at x = 1, +2 at x = -1), so the reference's trigonometric
interpolation of it differs from u0 between grid points next to x = +-1 by up to 3.5e-4
(relative 1.7e-4): the Gibbs error of a kink, inherent in a Fourier reference of this problem.
Elsewhere it matches u0 to 3e-6; a wrong initial condition misses by O(1)."""


@functools.lru_cache(maxsize=1)
def reference() -> PeriodicReference:
    """The spectral reference (2048 modes, time step 1e-3; computed once, on first use).

    Converged: against 4096 modes the largest difference is 1e-4 at t = 0.005 next to
    x = +-1, where u0's slope jumps across the periodic boundary, and below 1e-8 for
    t >= 0.5; halving the time step changes it by about 1e-11 (tests/test_allen_cahn.py).
    """
    return allen_cahn(nu=NU, gamma=GAMMA, modes=MODES, h=STEP, save_dt=5e-3, dense_until=DENSE_UNTIL)


def exact(points: np.ndarray) -> np.ndarray:
    """The reference at points ``(N, 2)`` of (x, t)."""
    return reference()(points[:, 0], points[:, 1])


def evaluation_grid() -> np.ndarray:
    """512 x 201 points: every 4th grid point of the reference in x, every snapshot in t."""
    xs = -1.0 + 2.0 * np.arange(512) / 512
    ts = 5e-3 * np.arange(201)
    return np.stack([g.ravel() for g in np.meshgrid(xs, ts, indexing="ij")], axis=1)


class _SideValues:
    """``u(+-1, t)`` of the reference as a torch function of t (for models without the embedding)."""

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        tt = t.detach().cpu().double().numpy()
        values = reference()(np.ones_like(tt), tt)
        return torch.as_tensor(values, dtype=t.dtype, device=t.device)


def make_problem(dirichlet: bool = False, periodic: bool = False) -> po.Problem:
    """Declare Allen-Cahn; periodicity in x comes from the recommended model's embedding.

    ``dirichlet=True`` adds the reference values on both sides (``u(-1, t) = u(1, t)``, from
    the reference) for models without the periodic embedding; ``periodic=True`` the standard
    soft periodic conditions (``u`` and ``u_x`` equal at ``x = -1`` and ``x = 1``).
    """
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    conditions = [po.On(sp.Eq(t, 0), u - x**2 * sp.cos(sp.pi * x), n=512)]
    functions = {}
    if dirichlet:
        side = sp.Function("ac_side")(t)
        functions["ac_side"] = _SideValues()
        conditions += [po.On(sp.Eq(x, -1), u - side, n=128), po.On(sp.Eq(x, 1), u - side, n=128)]
    if periodic:
        conditions.append(po.Periodic(x, u, derivatives=1, n=128))
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - NU * u.diff(x, 2) - GAMMA * (u - u**3)],
        conditions=conditions,
        functions=functions,
        exact=exact,
        name=NAME,
        description=DESCRIPTION,
        eval_grid=evaluation_grid(),
    )


def recommended() -> dict[str, Any]:
    """Periodic embedding + time-marching in 8 windows with exact continuity (float64).

    Each window trains Adam 200 + L-BFGS 600 steps on 3072 residual points, starting from
    the previous window's parameters; ``hard_constraints=True`` makes the initial condition
    and every window's start value exact, so no misfit accumulates across windows (with a
    soft continuity loss the error grew from 1.8e-2 at t = 0.1 to 0.16 at t = 1). Plain
    training: 0.61; causal weighting with 8000 Adam steps: 0.98. Measured with
    ``python -m benchmarks.accuracy allen_cahn`` (see benchmarks/results/accuracy/).
    """
    return {
        "model": po.nn.MLP(width=64, depth=4, embedding=po.nn.PeriodicEmbedding(("x",), harmonics=1)),
        "collocation": po.Collocation(interior=3072, boundary=256),
        "phases": [po.optim.Adam(steps=200, lr=2e-3), po.optim.LBFGS(steps=600)],
        "marching": po.Marching(windows=8),
        "hard_constraints": True,
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve allen_cahn --quick``).

    Periodic embedding, 8 windows with exact continuity, each Adam 100 + L-BFGS 300 on 1024 points, 40 x 4.
    Measured rel L2 5.5e-03, 7.3e-03, 1.9e-02 (seeds 0, 1, 2; 3 x target 3e-02), at most 91
    s of CPU on one thread: ``python -m benchmarks.quick allen_cahn --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=40, depth=4, embedding=po.nn.PeriodicEmbedding(("x",), harmonics=1)),
        "collocation": po.Collocation(interior=1024, boundary=256),
        "phases": [po.optim.Adam(steps=100, lr=2e-3), po.optim.LBFGS(steps=300)],
        "marching": po.Marching(windows=8),
        "hard_constraints": True,
        "dtype": "float64",
    }
