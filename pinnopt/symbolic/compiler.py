"""Compile sympy expressions into torch callables.

The compiler walks the sympy tree once and builds a tree of small closures. Leaves read
coordinates, unknown fields (any derivative, see :class:`~pinnopt.symbolic.fields.Field`)
and named scalars (trainable parameters, uncertain coefficients) from an :class:`Env`;
constant sub-expressions are folded to Python floats at compile time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
import torch

from ..errors import (
    CompileError,
    NoUnknownError,
)
from .env import Env, Node, SymbolContext
from .fields import Field
from .lowering import _Builder, _const

__all__ = ["CompiledExpression", "Env", "SymbolContext", "as_expression", "compile_expression"]


@dataclass(frozen=True)
class CompiledExpression:
    """A compiled sympy expression: call it with an :class:`Env` to get a tensor.

    Attributes:
        expr: the sympy expression (``lhs - rhs`` for an ``Eq``).
        fields: every unknown derivative it reads.
        scalars: names of the scalars it reads.
        data: keys of per-point data it reads (``"normal"`` for :class:`~pinnopt.symbolic.Normal`).
    """

    expr: sp.Expr
    fields: frozenset[Field]
    scalars: frozenset[str]
    _fn: Node = field(repr=False)
    data: frozenset[str] = frozenset()

    def __call__(self, env: Env) -> torch.Tensor:
        out = self._fn(env)
        if not isinstance(out, torch.Tensor):  # a constant expression
            ref = env.coords[0]
            return torch.full_like(ref, float(out))
        if out.dim() == 0 and env.coords:
            return out.expand_as(env.coords[0])
        return out


def as_expression(item: sp.Basic | sp.Eq, what: str = "equation") -> sp.Expr:
    """Turn ``Eq(lhs, rhs)`` into ``lhs - rhs``; check that the input is a sympy expression."""
    if isinstance(item, sp.Equality):
        return sp.sympify(item.lhs - item.rhs)
    if isinstance(item, (int, float)):
        return sp.sympify(item)
    if not isinstance(item, sp.Basic):
        raise CompileError(
            f"{what} must be a sympy expression or sympy.Eq, got {type(item).__name__}: {item!r}"
        )
    if isinstance(item, sp.core.relational.Relational):
        raise CompileError(
            f"{what} {item} is an inequality; equations and conditions are expressions that "
            "equal zero (or sympy.Eq); declare inequalities as bounds"
        )
    if isinstance(item, sp.logic.boolalg.Boolean) and not isinstance(item, sp.Expr):  # a Symbol is both
        raise CompileError(f"{what} {item} is a boolean, expected an expression or sympy.Eq")
    return item


def compile_expression(
    item: sp.Basic,
    ctx: SymbolContext,
    *,
    what: str = "equation",
    require_unknown: bool = True,
) -> CompiledExpression:
    """Compile a sympy expression (or ``Eq``) into a :class:`CompiledExpression`.

    Args:
        item: the expression; ``Eq(lhs, rhs)`` compiles ``lhs - rhs``.
        ctx: the declared names and the function table.
        what: how to name the expression in error messages (e.g. ``"equation 0"``).
        require_unknown: raise :class:`NoUnknownError` when no unknown appears.
    """
    expr = as_expression(item, what)
    if ctx.constants:
        expr = expr.subs({s: sp.Float(v) for s, v in ctx.constants.items()})
    builder = _Builder(ctx, what, expr)
    node = builder.build(expr)
    if require_unknown and not builder.fields:
        raise NoUnknownError(
            f"{what} {expr} does not involve any unknown ({ctx.describe()}); "
            "an equation must constrain at least one unknown function"
        )
    fn: Node = node if callable(node) else _const(node)
    return CompiledExpression(
        expr, frozenset(builder.fields), frozenset(builder.scalars), fn, frozenset(builder.data)
    )
