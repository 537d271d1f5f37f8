"""Small problems shared by the strategy tests."""

from __future__ import annotations

import sympy as sp

import pinnopt as po

x, t = sp.symbols("x t")
SCALE = 30.0


def imbalanced_problem() -> po.Problem:
    """u' = 2x on [0, 1] scaled by 30, u(0) = 1: the equation's gradient dwarfs the condition's.

    Exact u = 1 + x^2. The equation fixes u up to a constant; only the condition fixes that
    constant, and its gradient is about 1000x smaller than the equation's at the start.
    """
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[SCALE * (u.diff(x) - 2 * x)],
        conditions=[po.On(sp.Eq(x, 0), u - 1)],
        exact=1 + x**2,
        name="imbalanced",
    )


def advection_problem(dirichlet: bool = True) -> po.Problem:
    """u_t + beta u_x = 0 on [0, 2 pi] x [0, 1], u0 = sin x (beta = 2 a constant); exact sin(x - beta t)."""
    b = sp.Symbol("beta")
    u = sp.Function("u")(x, t)
    conditions = [po.On(sp.Eq(t, 0), u - sp.sin(x), n=32)]
    if dirichlet:
        conditions.append(po.On(sp.Eq(x, 0), u + sp.sin(b * t), n=16))
    return po.Problem(
        domain=po.Interval(x, 0, 2 * sp.pi) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + b * u.diff(x)],
        conditions=conditions,
        constants={b: 2.0},
        exact=sp.sin(x - b * t),
        name="advection",
        eval_grid=(41, 21),
    )


SMALL = {
    "model": po.nn.MLP(width=12, depth=2, embedding=po.nn.PeriodicEmbedding(("x",))),
    "collocation": po.Collocation(interior=128, boundary=16),
}
"""Keyword arguments of ``po.solve`` for :func:`advection_problem` tests."""
