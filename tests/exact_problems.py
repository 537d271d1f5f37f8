"""Problems with closed-form solutions, shared by the tests (a DETEST-like collection).

Each entry builds a :class:`pinnopt.Problem` whose symbolic exact solution satisfies its
equations and conditions; they cover systems, high orders, mixed partials, trainable
parameters, user functions and non-smooth functions.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

import pinnopt as po

x, y, t = sp.symbols("x y t")


def poisson1d() -> po.Problem:
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u)],
        exact=sp.sin(sp.pi * x),
        name="poisson1d",
    )


def heat_with_parameter() -> po.Problem:
    k = sp.Symbol("k")
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - k * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(t, 0), u - sp.sin(sp.pi * x)),
        ],
        parameters=[po.Parameter(k, init=0.1, exact=0.4)],
        exact=sp.exp(-sp.Float(0.4) * sp.pi**2 * t) * sp.sin(sp.pi * x),
        name="heat_k",
    )


def three_unknown_system() -> po.Problem:
    u, v, w = (sp.Function(n)(t) for n in "uvw")
    return po.Problem(
        domain=po.Interval(t, 0, 3),
        equations=[u.diff(t) - v, v.diff(t) - w, w.diff(t) + v],
        conditions=[po.On(sp.Eq(t, 0), u), po.On(sp.Eq(t, 0), v - 1), po.On(sp.Eq(t, 0), w)],
        exact={u: sp.sin(t), v: sp.cos(t), w: -sp.sin(t)},
        name="system3",
    )


def beam_fourth_order() -> po.Problem:
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 4) - sp.pi**4 * sp.sin(sp.pi * x)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(x, 0), u.diff(x, 2), name="m0"),
            po.On(sp.Eq(x, 1), u.diff(x, 2), name="m1"),
        ],
        exact=sp.sin(sp.pi * x),
        name="beam",
    )


def mixed_partials() -> po.Problem:
    u = sp.Function("u")(x, y)
    exact = sp.sin(x) * sp.exp(y)
    op = u.diff(x, y) + u.diff(x, 2, y) + u.diff(x, y, 2)
    rhs = op.subs(u, exact).doit()
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(y, 0, 1),
        equations=[op - rhs],
        conditions=[po.On(sp.Eq(x, 0), u)],
        exact=exact,
        name="mixed",
    )


def kovasznay() -> po.Problem:
    """Steady Navier-Stokes (Kovasznay flow): three unknowns, nonlinear."""
    re = 20
    lam = re / 2 - sp.sqrt(sp.Rational(re**2, 4) + 4 * sp.pi**2)
    u, v, p = (sp.Function(n)(x, y) for n in "uvp")
    lap = lambda f: f.diff(x, 2) + f.diff(y, 2)  # noqa: E731
    return po.Problem(
        domain=po.Interval(x, -0.5, 1) * po.Interval(y, -0.5, 1.5),
        equations=[
            u * u.diff(x) + v * u.diff(y) + p.diff(x) - lap(u) / re,
            u * v.diff(x) + v * v.diff(y) + p.diff(y) - lap(v) / re,
            u.diff(x) + v.diff(y),
        ],
        exact={
            u: 1 - sp.exp(lam * x) * sp.cos(2 * sp.pi * y),
            v: lam / (2 * sp.pi) * sp.exp(lam * x) * sp.sin(2 * sp.pi * y),
            p: (1 - sp.exp(2 * lam * x)) / 2,
        },
        unknowns=[u, v, p],
        name="kovasznay",
    )


def burgers_manufactured() -> po.Problem:
    u = sp.Function("u")(x, t)
    nu = sp.Rational(1, 10)
    exact = sp.exp(-t) * sp.sin(sp.pi * x)
    op = u.diff(t) + u * u.diff(x) - nu * u.diff(x, 2)
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[op - op.subs(u, exact).doit()],
        exact=exact,
        name="burgers_mms",
    )


def user_function_and_abs() -> po.Problem:
    """-u'' = -2 sign(x) g(x) / g(x) with a user torch function g, exact u = x |x|."""
    u = sp.Function("u")(x)
    g = sp.Function("g")
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[u.diff(x, 2) - 2 * sp.sign(x) * g(x) / g(x) + sp.Heaviside(x) - sp.Heaviside(x)],
        conditions=[po.On(sp.Eq(x, -1), u + 1)],
        exact=x * sp.Abs(x),
        functions={"g": lambda z: torch.exp(-z * z)},
        name="abs",
    )


def piecewise_source() -> po.Problem:
    u = sp.Function("u")(x)
    src = sp.Piecewise((2, x < 0), (2 + 6 * x, True))
    exact = sp.Piecewise((x**2, x < 0), (x**2 + x**3, True))
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[u.diff(x, 2) - src],
        exact=exact,
        name="piecewise",
    )


ALL: dict[str, Callable[[], po.Problem]] = {
    f.__name__: f
    for f in (
        poisson1d,
        heat_with_parameter,
        three_unknown_system,
        beam_fourth_order,
        mixed_partials,
        kovasznay,
        burgers_manufactured,
        user_function_and_abs,
        piecewise_source,
    )
}
