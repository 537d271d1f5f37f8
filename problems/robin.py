"""Steady reaction-diffusion in 1-D with Robin conditions at both ends."""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "robin"
DESCRIPTION = (
    "-u'' + u = f on [0, 1] with u + du/dn = g at both ends (outward normal); exact u = cos(2 x) + x^2"
)
TARGET = 1e-3


def make_problem() -> po.Problem:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    exact = sp.cos(2 * x) + x**2
    f = -exact.diff(x, 2) + exact
    # du/dn is -u'(0) at x = 0 and u'(1) at x = 1.
    g0 = (exact - exact.diff(x)).subs(x, 0)
    g1 = (exact + exact.diff(x)).subs(x, 1)
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-u.diff(x, 2) + u - f],
        conditions=[po.Robin("x=0", u, 1, 1, g0), po.Robin("x=1", u, 1, 1, g1)],
        exact=exact,
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=16, depth=2),
        "collocation": po.Collocation(interior=64, boundary=1, sampler="sobol"),
        "phases": [po.optim.Adam(steps=100, lr=5e-3), po.optim.LBFGS(steps=150)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve robin --quick``).

    16 x 2, 64 points, Adam 100 + L-BFGS 150 (the recommended configuration: seconds).
    Measured rel L2 1.4e-04, 2.4e-06, 7.0e-06 (seeds 0, 1, 2; 3 x target 3e-03), at most 1 s
    of CPU on one thread: ``python -m benchmarks.quick robin --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=16, depth=2),
        "collocation": po.Collocation(interior=64, boundary=1, sampler="sobol"),
        "phases": [po.optim.Adam(steps=100, lr=5e-3), po.optim.LBFGS(steps=150)],
        "dtype": "float64",
    }
