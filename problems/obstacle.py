"""The 1-D obstacle problem: a string under a downward load resting on a bowl-shaped floor.

Find ``u`` on ``[-1, 1]`` with ``u(-1) = u(1) = 0`` and ``u >= psi`` minimizing the energy

    E(u) = integral of ( u'(x)**2 / 2 - f u(x) ) dx,   f = -2,   psi(x) = x**2 / 2 - 5/8.

It is a variational inequality, not an equation: the solution satisfies ``-u'' = f`` where
it is free (``u > psi``), ``u = psi`` on the contact set, and the contact force
``lambda = -u'' - f >= 0`` is non-zero only there.

Derivation of the exact solution. Without the floor, ``u = x**2 - 1`` dips to -1 at 0,
below ``psi(0) = -5/8``, so the string touches the floor on a symmetric set ``[-c, c]``.
Off contact ``u'' = 2``; where it leaves the floor at ``x = c`` it does so tangentially
(``u`` is C^1 for an obstacle problem with a smooth obstacle), so ``u - psi`` has a double
root at ``c``. With ``u'' - psi'' = 2 - 1 = 1`` this gives, for ``c <= x <= 1``,

    u(x) = psi(x) + (x - c)**2 / 2.

The boundary condition ``u(1) = 0`` reads ``1/2 - 5/8 + (1 - c)**2 / 2 = 0``, so
``(1 - c)**2 = 1/4`` and ``c = 1/2``. Hence

    u(x) = x**2/2 - 5/8                          for |x| <= 1/2,
    u(x) = x**2/2 - 5/8 + (|x| - 1/2)**2 / 2     for |x| >= 1/2.

Checks: ``u > psi`` for ``|x| > 1/2``; on the contact set ``lambda = -psi'' - f = -1 + 2 = 1 > 0``
(strict complementarity); ``u(+-1) = 1/2 - 5/8 + 1/8 = 0``.

The problem is solved with the Ritz energy (``po.Energy``) plus an exponential barrier on
``u >= psi`` whose coefficient rises to ``m = 1e4``. A squared-residual loss ``(-u'' - f)**2``
with the same barrier converges to the wrong function: on the contact set the true
solution does not satisfy the equation.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

import pinnopt as po

NAME = "obstacle"
DESCRIPTION = "obstacle -u'' = -2 on [-1, 1], u >= x^2/2 - 5/8, contact on [-1/2, 1/2]; energy + barrier"
TARGET = 1e-2

x = sp.Symbol("x")
PSI = x**2 / 2 - sp.Rational(5, 8)
F = -2


def exact() -> sp.Expr:
    """The exact solution (derived in the module docstring)."""
    half = sp.Rational(1, 2)
    return sp.Piecewise(
        (PSI + (x - half) ** 2 / 2, x > half),
        (PSI + (x + half) ** 2 / 2, x < -half),
        (PSI, True),
    )


def make_problem(m: float = 1e4, m_start: float = 10.0) -> po.Problem:
    """The obstacle problem with the energy and a barrier of final coefficient ``m``."""
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[],
        conditions=[po.On(sp.Eq(x, -1), u, weight=1e3), po.On(sp.Eq(x, 1), u, weight=1e3)],
        energy=po.Energy(u.diff(x) ** 2 / 2 - F * u, n=128),
        bounds=[po.Bound(u >= PSI, name="u>=psi", m=m, n=256, continuation=po.Continuation(m_start))],
        exact=exact(),
        name=NAME,
        description=DESCRIPTION,
    )


def recommended() -> dict[str, Any]:
    return {
        "model": po.nn.MLP(width=16, depth=2),
        "collocation": po.Collocation(interior=256, boundary=1),
        "phases": [po.optim.Adam(steps=300, lr=2e-3), po.optim.LBFGS(steps=700)],
        "dtype": "float64",
    }


def quick() -> dict[str, Any]:
    """A step budget of at most 3 minutes on one core (``pinnopt solve obstacle --quick``).

    16 x 2, 256 points, Adam 300 + L-BFGS 700 (the recommended configuration: seconds).
    Measured rel L2 5.0e-03, 6.8e-03, 4.5e-03 (seeds 0, 1, 2; 3 x target 3e-02), at most 5 s
    of CPU on one thread: ``python -m benchmarks.quick obstacle --seeds 0 1 2``.
    """
    return {
        "model": po.nn.MLP(width=16, depth=2),
        "collocation": po.Collocation(interior=256, boundary=1),
        "phases": [po.optim.Adam(steps=300, lr=2e-3), po.optim.LBFGS(steps=700)],
        "dtype": "float64",
    }
