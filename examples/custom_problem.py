"""A problem file for the command line: ``pinnopt solve examples/custom_problem.py``.

A problem file defines ``make_problem()`` (or a module-level ``problem``) and optionally
``recommended()``, the keyword arguments for ``po.solve``. Try:

    pinnopt check examples/custom_problem.py
    pinnopt solve examples/custom_problem.py --out runs/custom
    pinnopt solve examples/custom_problem.py --steps 200 --dtype float32

This one is a steady advection-diffusion boundary layer, -eps u'' + u' = 1 on [0, 1] with
u(0) = u(1) = 0, whose exact solution has a layer of width eps at x = 1.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

EPS = sp.Rational(1, 20)


def make_problem() -> po.Problem:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    exact = x - (sp.exp((x - 1) / EPS) - sp.exp(-1 / EPS)) / (1 - sp.exp(-1 / EPS))
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-EPS * u.diff(x, 2) + u.diff(x) - 1],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u)],
        exact=exact,
        name="boundary_layer",
        description="-eps u'' + u' = 1 on [0, 1], u(0) = u(1) = 0, eps = 1/20",
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=32, depth=3),
        "collocation": po.Collocation(interior=400, boundary=1),
        "phases": [po.optim.Adam(steps=1000, lr=2e-3), po.optim.LBFGS(steps=1500)],
    }


if __name__ == "__main__":
    result = po.solve(make_problem(), **recommended())
    print(result.validate())
