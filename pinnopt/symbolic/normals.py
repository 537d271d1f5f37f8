"""Outward normals in expressions: ``Normal(x)`` is the x-component of the unit normal.

Boundary pieces carry their outward unit normals per point (``data["normal"]`` of a point
set); a compiled expression reads them through :class:`Normal`. The usual way in is
:func:`normal_derivative`: ``normal_derivative(u)`` is ``sum_j n_j du/dx_j``, so on the side
``x = -1`` of an interval it is ``-u_x``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from ..errors import CompileError


class Normal(sp.Function):
    """The component along coordinate ``c`` of the outward unit normal: ``Normal(x)`` is n_x.

    It only has a value on boundary pieces (points with normals); a condition that uses it on
    a region without normals is refused when the problem is built.
    """

    nargs = 1
    is_real = True

    @classmethod
    def eval(cls, coordinate: Any) -> None:
        if not isinstance(coordinate, sp.Symbol):
            raise CompileError(f"Normal({coordinate}) needs a coordinate symbol, e.g. Normal(x)")
        return None

    def _sympystr(self, printer: Any) -> str:
        return f"n_{printer._print(self.args[0])}"

    def _latex(self, printer: Any) -> str:
        return f"n_{{{printer._print(self.args[0])}}}"


def normal_derivative(expr: Any, coordinates: Sequence[sp.Symbol] | None = None) -> sp.Expr:
    """``sum_j n_j d(expr)/dx_j``: the outward normal derivative of ``expr``.

    Args:
        expr: an unknown such as ``u(x, y)`` or any expression of unknowns.
        coordinates: the coordinates to sum over; default: the arguments of the unknowns in
            ``expr`` (on a space-time side, include only space to skip the zero ``n_t u_t``).
    """
    e = sp.sympify(expr)
    if coordinates is None:
        seen: list[sp.Symbol] = []
        for f in sorted(e.atoms(AppliedUndef), key=str):
            for a in f.args:
                if isinstance(a, sp.Symbol) and a not in seen:
                    seen.append(a)
        coordinates = seen
    coords = list(coordinates)
    if not coords:
        raise CompileError(f"normal_derivative({e}): no coordinates to differentiate in; pass coordinates=")
    return sp.Add(*[Normal(c) * sp.diff(e, c) for c in coords])
