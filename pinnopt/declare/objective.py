"""Losses to minimize over the trainable parameters: ``po.Minimize(expr)``.

A problem made of parameters alone has no unknown function and no equation: it minimizes
an expression of its parameters (and of its uncertain coefficients, whose worst case the
solve takes)::

    theta, xi = sp.symbols("theta xi")
    problem = po.Problem(minimize=(theta - 2 * xi) ** 2, parameters={theta: 0.0},
                         uncertain={xi: po.robust.BoxSet(0, 1)})

Each item becomes one loss term whose value is the expression itself (not its square):
``weight * expr``. Bounds, equalities, regularization and uncertainty sets apply to it as
to any other term.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import NoParameterError, ProblemError, as_number
from ..symbolic import CompiledExpression, SymbolContext
from ..symbolic.scalars import compile_scalar_safe


@dataclass(frozen=True)
class Minimize:
    """A scalar expression of the trainable parameters to minimize, added to the objective.

    Args:
        expr: a sympy expression of parameters, constants and uncertain coefficients (no
            coordinates, no unknown functions).
        weight: its weight in the objective (positive).
        name: the loss term's name (default ``"minimize"``, numbered when there are several).
    """

    expr: Any
    weight: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        w = as_number(self.weight, f"Minimize({self.expr}, weight=...)", ProblemError)
        if not (math.isfinite(w) and w > 0):
            raise ProblemError(
                f"Minimize({self.expr}, weight={self.weight!r}): expected a positive finite number"
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ProblemError(f"Minimize(name={self.name!r}): a name must be a non-empty string")
        if not isinstance(self.expr, (sp.Basic, int, float)) or isinstance(self.expr, bool):
            raise ProblemError(
                f"Minimize(expr={self.expr!r}): expected a sympy expression of the parameters, "
                f"got {type(self.expr).__name__}"
            )
        if isinstance(self.expr, sp.core.relational.Relational) or (
            isinstance(self.expr, sp.logic.boolalg.Boolean) and not isinstance(self.expr, sp.Expr)
        ):
            raise ProblemError(
                f"Minimize({self.expr}): a loss is an expression to minimize, not a relation; "
                "declare inequalities as bounds and equations as equalities"
            )


@dataclass(frozen=True)
class CompiledLoss:
    """A declared :class:`Minimize` with its term name and compiled expression."""

    name: str
    item: Minimize
    compiled: CompiledExpression

    @property
    def weight(self) -> float:
        return float(self.item.weight)


def as_losses(items: Any) -> tuple[Minimize, ...]:
    """Normalize ``Problem(minimize=...)``: one expression or item, or a list of them."""
    if items is None:
        return ()
    if isinstance(items, (sp.Basic, Minimize, int, float)):
        items = (items,)
    try:
        seq: Sequence[Any] = tuple(items)
    except TypeError as exc:
        raise ProblemError(
            f"Problem(minimize={items!r}): expected a sympy expression, po.Minimize or a list of them"
        ) from exc
    return tuple(m if isinstance(m, Minimize) else Minimize(m) for m in seq)


def compile_losses(
    items: Sequence[Minimize], ctx: SymbolContext, parameters: Collection[str], taken: Collection[str] = ()
) -> tuple[CompiledLoss, ...]:
    """Check and compile the losses: scalar expressions that read at least one parameter.

    Raises:
        ProblemError: an expression reads coordinates or unknown functions, or a name clashes.
        NoParameterError: an expression involves no trainable parameter.
    """
    out: list[CompiledLoss] = []
    used = set(taken)
    for i, item in enumerate(items):
        name = item.name or ("minimize" if len(items) == 1 else f"minimize{i}")
        what = f"loss {i} ({name})"
        expr = sp.sympify(item.expr)
        c = compile_scalar_safe(expr, ctx, what=what, require_unknown=False)
        if c.fields or expr.free_symbols & set(ctx.coordinates):
            raise ProblemError(
                f"{what}: {expr} involves coordinates or unknown functions; po.Minimize takes an "
                "expression of the parameters (use equations, observations or po.Energy for fields)"
            )
        if not set(c.scalars) & set(parameters):
            declared = sorted(parameters) or "none"
            raise NoParameterError(
                f"{what}: {expr} involves no trainable parameter (parameters: {declared}); there is "
                "nothing to minimize over. Declare its symbols in Problem(parameters={symbol: initial value})"
            )
        if name in used:
            raise ProblemError(f"{what}: the term name {name!r} is used twice; give po.Minimize(..., name=)")
        used.add(name)
        out.append(CompiledLoss(name, item, c))
    return tuple(out)
