"""Helpers for the common conditions, all "expression = 0 on a region", and periodicity.

Each helper returns a plain :class:`~pinnopt.On`, so it means exactly what it
would mean written out::

    po.Dirichlet("x=-1", u, 0)              # On("x=-1", u - 0)
    po.Neumann("circle", u, g)              # On("circle", normal_derivative(u) - g)
    po.Robin("x=1", u, alpha=1, beta=2, value=h)   # alpha u + beta du/dn = h
    po.Initial(t, u, sp.sin(sp.pi * x))     # u = sin(pi x) at the lower end of t
    po.InitialRate(t, u, 0)                 # u_t = 0 there (second order in time)
    po.AtPoints([[0.5, 0.2]], u - 1)        # at given points

Periodicity pairs points of opposite sides, so it is its own condition:
``po.Periodic(x, u)`` matches ``u`` and ``u_x`` between ``x = a`` and ``x = b``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..domain import Domain, PeriodicPair, Points, Side, face_of
from ..errors import ProblemError, as_number
from ..symbolic import SymbolContext, compile_expression, normal_derivative
from .items import Condition, On, TermSpec


def Dirichlet(
    where: Any, u: Any, value: Any = 0, *, n: int | None = None, name: str | None = None, weight: float = 1.0
) -> On:
    """``u = value`` on ``where`` (``value`` a number or an expression of the coordinates)."""
    return On(where, _expr(u, "u") - _expr(value, "value"), n=n, name=name, weight=weight)


def _expr(value: Any, what: str) -> sp.Expr:
    """``value`` as a sympy expression (numbers and expressions; strings are refused)."""
    try:
        expr = sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError, ValueError):
        expr = None
    if not isinstance(expr, sp.Expr):
        raise ProblemError(
            f"{what}={value!r}: expected a number or a sympy expression, got {type(value).__name__}"
        )
    return expr


def Neumann(
    where: Any, u: Any, value: Any = 0, *, n: int | None = None, name: str | None = None, weight: float = 1.0
) -> On:
    """``du/dn = value`` on ``where``, with ``n`` the outward unit normal of the boundary piece."""
    return On(where, normal_derivative(_expr(u, "u")) - _expr(value, "value"), n=n, name=name, weight=weight)


def Robin(
    where: Any,
    u: Any,
    alpha: Any,
    beta: Any,
    value: Any = 0,
    *,
    n: int | None = None,
    name: str | None = None,
    weight: float = 1.0,
) -> On:
    """``alpha u + beta du/dn = value`` on ``where`` (outward normal derivative)."""
    named = ((u, "u"), (alpha, "alpha"), (beta, "beta"), (value, "value"))
    u, alpha, beta, value = (_expr(v, w) for v, w in named)
    return On(where, alpha * u + beta * normal_derivative(u) - value, n=n, name=name, weight=weight)


def Initial(
    time: sp.Symbol,
    u: Any,
    value: Any = 0,
    *,
    n: int | None = None,
    name: str | None = None,
    weight: float = 1.0,
) -> On:
    """``u = value`` at the start of ``time`` (the lower end of its range)."""
    return On(Side(time, "lower"), _expr(u, "u") - _expr(value, "value"), n=n, name=name, weight=weight)


def InitialRate(
    time: sp.Symbol,
    u: Any,
    value: Any = 0,
    *,
    n: int | None = None,
    name: str | None = None,
    weight: float = 1.0,
) -> On:
    """``du/dtime = value`` at the start of ``time`` (with :func:`Initial`: second order in time)."""
    rate = sp.diff(_expr(u, "u"), _expr(time, "time"))
    return On(Side(time, "lower"), rate - _expr(value, "value"), n=n, name=name, weight=weight)


def AtPoints(points: Any, expr: Any, *, name: str = "points", weight: float = 1.0) -> On:
    """``expr = 0`` at given points ``(n, dim)`` (e.g. ``u - 1`` to pin a value)."""
    return On(Points(points, name=name), expr, name=name, weight=weight)


@dataclass(frozen=True)
class Periodic(Condition):
    """Values and derivatives of ``quantities`` equal on the two sides of ``coordinate``.

    Points ``p`` drawn on the side ``coordinate = lower`` are paired with their images on
    ``coordinate = upper`` (other coordinates equal) and ``d^k q / d coordinate^k`` is
    matched for ``k = 0..derivatives`` and every quantity ``q``.

    Args:
        coordinate: the periodic coordinate (an interval factor of the domain).
        quantities: an unknown ``u(x, t)``, an expression, or a list of them.
        derivatives: highest derivative order matched (1: values and first derivatives).
        n: number of point pairs (default: the solver's boundary count).
        name: the loss term's name (default ``"periodic(x)"``).
        weight: the loss term's weight.
    """

    coordinate: sp.Symbol
    quantities: Any
    derivatives: int = 1
    n: int | None = None
    name: str | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.coordinate, sp.Symbol):
            raise ProblemError(f"Periodic needs a coordinate symbol, got {self.coordinate!r}")
        if not isinstance(self.derivatives, (int, np.integer)) or self.derivatives < 0:
            raise ProblemError(f"Periodic(derivatives={self.derivatives!r}): expected an int >= 0")
        if self.n is not None and (not isinstance(self.n, (int, np.integer)) or self.n < 1):
            raise ProblemError(f"Periodic(n={self.n!r}): expected an int >= 1")
        w = as_number(self.weight, "Periodic(weight=...)", ProblemError)
        if not (w > 0 and w != float("inf")):
            raise ProblemError(f"Periodic(weight={self.weight!r}): weights must be positive and finite")
        items = self.quantities if isinstance(self.quantities, (list, tuple)) else [self.quantities]
        if not items or not all(isinstance(q, sp.Basic) for q in items):
            raise ProblemError(f"Periodic quantities must be sympy expressions, got {self.quantities!r}")
        object.__setattr__(self, "quantities", tuple(items))

    def expressions(self) -> list[sp.Expr]:
        """Every matched expression: each quantity and its derivatives in the coordinate."""
        return [sp.diff(q, self.coordinate, k) for q in self.quantities for k in range(self.derivatives + 1)]

    def term_specs(self, domain: Domain, ctx: SymbolContext, what: str) -> list[TermSpec]:
        c = self.coordinate
        if c not in domain.coordinates:
            raise ProblemError(f"{what}: {c} is not a coordinate of {domain}")
        try:
            side = domain.region(Side(c, "lower"))
        except ProblemError:
            side = None
        face = face_of(side)
        if side is None or face is None:
            raise ProblemError(
                f"{what}: periodicity in {c} needs {c} to be an interval of the domain (a box or a "
                f"product with Interval({c}, a, b)); {domain} is not"
            )
        upper = domain.bounds[1][domain.coordinates.index(c)]
        axis = domain.coordinates.index(c)
        name = self.name or f"periodic({c})"
        region = PeriodicPair(side, axis, upper, name)  # type: ignore[arg-type]
        exprs = tuple(compile_expression(e, ctx, what=what) for e in self.expressions())
        return [
            TermSpec(
                name, region, exprs[0], self.n, float(self.weight), "condition", "paired", exprs, source=self
            )
        ]
