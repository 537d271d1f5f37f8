"""Convection (advection) with a large speed: the classic failure case of plain PINN training."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "convection"
DESCRIPTION = (
    "Convection u_t + 30 u_x = 0 on [0, 2 pi] x [0, 1], periodic in x (exactly, by the periodic "
    "embedding), u0 = sin x; exact sin(x - 30 t)"
)
TARGET = 2e-2
BETA = 30.0


def make_problem(beta: float = BETA, dirichlet: bool = False, periodic: bool = False) -> po.Problem:
    """Declare convection with speed ``beta`` (a constant named ``beta``, for curricula).

    The periodicity in x is not a loss term: the recommended model's
    :class:`~pinnopt.PeriodicEmbedding` makes every candidate solution 2 pi-periodic. For a
    model without it, ``periodic=True`` adds the standard soft condition ``u(0, t) = u(2 pi, t)``
    (the setup in which plain PINNs fail), and ``dirichlet=True`` the exact values on both sides
    (inflow data taken from the exact solution: an easier, better-posed problem).
    """
    x, t, b = sp.symbols("x t beta")
    u = sp.Function("u")(x, t)
    conditions = [po.On(sp.Eq(t, 0), u - sp.sin(x), n=256)]
    if dirichlet:
        conditions += [
            po.On(sp.Eq(x, 0), u - sp.sin(-b * t), n=128),
            po.On(sp.Eq(x, 2 * sp.pi), u - sp.sin(2 * sp.pi - b * t), n=128),
        ]
    if periodic:
        conditions.append(po.Periodic(x, u, derivatives=0, n=128))
    return po.Problem(
        domain=po.Interval(x, 0, 2 * sp.pi) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + b * u.diff(x)],
        conditions=conditions,
        constants={b: float(beta)},
        exact=sp.sin(x - b * t),
        name=NAME,
        description=DESCRIPTION,
        eval_grid=(256, 101),
    )


def recommended() -> dict[str, Any]:
    """Periodic embedding + time-marching in 10 windows, each Adam then L-BFGS (float64).

    Measured relative L2 1.4e-2 to 1.8e-2 over seeds 0, 1, 2 (mean 1.55e-2, at most 182 s each on
    one CPU thread): ``python -m benchmarks.strategies convection``.
    """
    return {
        "model": po.nn.MLP(width=48, depth=3, embedding=po.nn.PeriodicEmbedding(("x",))),
        "collocation": po.Collocation(interior=2048, boundary=256),
        "phases": [po.optim.Adam(steps=300, lr=2e-3), po.optim.LBFGS(steps=1000)],
        "marching": po.Marching(windows=10),
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve convection --quick``).

    Periodic embedding, 10 windows of Adam 300 + L-BFGS 600 on 2048 points (recommended: 2048,
    300 + 1000). Measured rel L2 2.6e-02, 2.6e-02, 3.3e-02 (seeds 0, 1, 2; 3 x target 6e-02),
    at most 162 s of CPU on one thread: ``python -m benchmarks.quick convection --seeds 0 1
    2``. Windows of 200 + 400 steps on 1024 points missed on seed 1 (6.7e-2).
    """
    return {
        "model": po.nn.MLP(width=48, depth=3, embedding=po.nn.PeriodicEmbedding(("x",))),
        "collocation": po.Collocation(interior=2048, boundary=256),
        "phases": [po.optim.Adam(steps=300, lr=2e-3), po.optim.LBFGS(steps=600)],
        "marching": po.Marching(windows=10),
        "dtype": "float64",
    }
