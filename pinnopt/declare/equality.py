"""Equality constraints on trainable parameters: ``h(p) = 0`` (e.g. ``a + b = 1``).

Two methods:

* ``"penalty"``: the quadratic penalty ``(rho / 2) h**2``. Simple, but the constraint
  holds only up to about ``|dJ| / (rho |dh|**2)``: exactness needs ``rho -> inf``, which
  ruins the conditioning.
* ``"augmented"`` (default): the augmented Lagrangian ``lam * h + (rho / 2) h**2`` with the
  multiplier update ``lam <- lam + rho * h`` between inner minimizations. The multiplier
  converges to the true Lagrange multiplier and the constraint is met to optimizer
  precision at a moderate, fixed ``rho``. The multipliers and ``rho`` are training state
  (saved in the term's ``state_dict``).

The default ``rho = 1`` suits :func:`pinnopt.solve`, where the inner minimizations between
updates are a few dozen Adam steps and a large ``rho`` makes the multiplier overshoot;
:func:`~pinnopt.workflows.fit_parameters` solves each round to convergence, where a
larger ``rho`` (about 10) shrinks the multiplier error faster per round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ProblemError
from ..symbolic import CompiledExpression, SymbolContext
from ..symbolic.scalars import compile_scalar_safe

EQUALITY_METHODS = ("augmented", "penalty")


@dataclass(frozen=True)
class Equality:
    """An equality constraint on trainable parameters.

    Args:
        expr: ``sympy.Eq(lhs, rhs)`` or an expression that must vanish; after construction
            ``expr`` is always the expression ``lhs - rhs``.
        method: ``"augmented"`` (augmented Lagrangian, default) or ``"penalty"``.
        rho: the quadratic coefficient.
        weight: the term's weight in the objective.
        name: the term's name (default ``"eq:<expr>"``).
        every: steps between multiplier updates in :func:`pinnopt.solve`.
        until: last step of multiplier updates; None means the gradient phases before the
            first L-BFGS phase (L-BFGS needs a fixed objective).
        rho_growth: multiply ``rho`` by this at an update when ``|h|`` fell by less than 4x
            since the last update (1 keeps ``rho`` fixed).
    """

    expr: Any
    method: str = "augmented"
    rho: float = 1.0
    weight: float = 1.0
    name: str | None = None
    every: int = 100
    until: int | None = None
    rho_growth: float = 1.0

    def __post_init__(self) -> None:
        item = self.expr
        if isinstance(item, sp.Equality):
            expr = sp.sympify(item.lhs - item.rhs)
        elif isinstance(item, (sp.core.relational.Relational, sp.logic.boolalg.Boolean, bool)):
            raise ProblemError(
                f"Equality({item}): expected sympy.Eq(lhs, rhs) or an expression that must vanish; "
                "inequalities are bounds"
            )
        else:
            try:
                expr = sp.sympify(item)
            except (sp.SympifyError, TypeError) as exc:
                raise ProblemError(f"Equality({item!r}): not a sympy expression") from exc
        if expr.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            raise ProblemError(f"Equality({item}): the expression is not finite")
        object.__setattr__(self, "expr", expr)
        label = f"Equality({expr} = 0)"
        if self.method not in EQUALITY_METHODS:
            raise ProblemError(f"{label}: method={self.method!r}; expected one of {list(EQUALITY_METHODS)}")
        for attr in ("rho", "weight"):
            v = getattr(self, attr)
            ok = isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
            if not ok or not (math.isfinite(float(v)) and float(v) > 0):
                raise ProblemError(f"{label}: {attr}={v!r}; expected a positive finite number")
        g = self.rho_growth
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not (1.0 <= g < math.inf):
            raise ProblemError(f"{label}: rho_growth={g!r}; expected a finite number >= 1")
        if not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise ProblemError(f"{label}: every={self.every!r}; expected an int >= 1")
        if self.until is not None and (not isinstance(self.until, (int, np.integer)) or self.until < 0):
            raise ProblemError(f"{label}: until={self.until!r}; expected an int >= 0 or None")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ProblemError(f"{label}: name={self.name!r}; expected a non-empty string")

    @property
    def label(self) -> str:
        """The default term name."""
        return "eq:" + str(self.expr).replace(" ", "")


def as_equality(item: Any, index: int) -> Equality:
    """An :class:`Equality` from a declared item (``sympy.Eq`` gets the defaults)."""
    if isinstance(item, Equality):
        return item
    if isinstance(item, sp.Basic):
        return Equality(item)
    raise ProblemError(
        f"equality {index} must be sympy.Eq(lhs, rhs), an expression or po.Equality(...), "
        f"got {type(item).__name__}: {item!r}"
    )


@dataclass(frozen=True)
class CompiledEquality:
    """A declared equality with its compiled expression and term name."""

    name: str
    equality: Equality
    compiled: CompiledExpression


def compile_equalities(
    items: Sequence[Any], ctx: SymbolContext
) -> tuple[tuple[Equality, ...], tuple[CompiledEquality, ...]]:
    """Normalize and compile declared equalities (on trainable parameters only)."""
    equalities = tuple(as_equality(e, i) for i, e in enumerate(items))
    out = []
    for i, eq in enumerate(equalities):
        what = f"equality {i} ({eq.expr} = 0)"
        c = compile_scalar_safe(eq.expr, ctx, what=what, require_unknown=False)
        if c.fields or eq.expr.free_symbols & set(ctx.coordinates):
            raise ProblemError(
                f"{what}: equality constraints hold between trainable parameters; an equation in the "
                "unknowns is an equation or a condition (po.On)"
            )
        if not c.scalars:
            raise ProblemError(f"{what}: it involves no trainable parameter")
        out.append(CompiledEquality(eq.name or eq.label, eq, c))
    return equalities, tuple(out)
