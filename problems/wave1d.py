"""Wave equation in 1-D with two modes (second order in time)."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "wave1d"
DESCRIPTION = (
    "Wave u_tt = 4 u_xx on [0,1] x [0,1], u = 0 at the ends, u0 = sin(pi x) + 0.5 sin(4 pi x), u_t(x,0) = 0"
)
TARGET = 1e-3


def make_problem() -> po.Problem:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    pi = sp.pi
    u0 = sp.sin(pi * x) + sp.Rational(1, 2) * sp.sin(4 * pi * x)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t, 2) - 4 * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(t, 0), u - u0),
            po.On(sp.Eq(t, 0), u.diff(t), name="u_t(t=0)"),
        ],
        exact=sp.sin(pi * x) * sp.cos(2 * pi * t)
        + sp.Rational(1, 2) * sp.sin(4 * pi * x) * sp.cos(8 * pi * t),
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.MLP(width=64, depth=4),
        "collocation": po.Collocation(interior=4000, boundary=200),
        "phases": [po.Adam(steps=2000, lr=1e-3), po.LBFGS(steps=4000)],
        "dtype": "float64",
    }
