"""Evaluate compiled expressions of the trainable parameters alone (no points)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp
import torch

from . import CompiledExpression, Env, SymbolContext, compile_expression


def scalar_env(scalars: Mapping[str, torch.Tensor | float]) -> Env:
    """An :class:`Env` with no points: compiled parameter expressions evaluate to 0-d tensors.

    The compiler takes the shape, dtype and device of constants from the first coordinate
    column; here that is a 0-d zero of the parameters' dtype and device.
    """
    ref = next((v for v in scalars.values() if isinstance(v, torch.Tensor)), None)
    zero = (
        torch.zeros((), dtype=torch.float64)
        if ref is None
        else torch.zeros((), dtype=ref.dtype, device=ref.device)
    )
    return Env((zero,), {}, scalars)


def compile_scalar_safe(
    expr: Any, ctx: SymbolContext, *, what: str, require_unknown: bool = False
) -> CompiledExpression:
    """:func:`compile_expression`, also for a bare symbol such as the slack ``k`` of ``k >= 0``.

    (sympy's ``Symbol`` is also a ``Boolean``, which the compiler's input check rejects; an
    unevaluated ``1 * k`` compiles to the same function.)
    """
    e = sp.sympify(expr)
    if isinstance(e, sp.Symbol):
        e = sp.Mul(sp.Integer(1), e, evaluate=False)
    return compile_expression(e, ctx, what=what, require_unknown=require_unknown)
