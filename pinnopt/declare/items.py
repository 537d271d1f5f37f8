"""The items a problem is declared from: ``On`` (an expression that vanishes on a region),
``Parameter`` (a trainable coefficient), and what they compile into (``TermSpec``)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..domain import Domain, Region
from ..errors import ProblemError, as_number
from ..symbolic import CompiledExpression, SymbolContext

interior = "interior"
"""Region marker for the interior of the domain: ``On(po.interior, expr)``."""


@dataclass(frozen=True)
class On:
    """An expression that must vanish on a region: ``expr = 0`` (or ``Eq(lhs, rhs)``) there.

    Dirichlet, Neumann, Robin and initial conditions are all written this way::

        On(sp.Eq(x, -1), u)                    # u(-1, t) = 0
        On(sp.Eq(t, 0), sp.Eq(u, -sp.sin(sp.pi * x)))
        On(sp.Eq(x, 1), u.diff(x) - 2)         # Neumann u_x(1, t) = 2
        On("circle", po.normal_derivative(u))  # du/dn = 0 with the outward normal

    The helpers :func:`~pinnopt.Dirichlet`, ``Neumann``, ``Robin``, ``Initial``,
    ``InitialRate`` and ``AtPoints`` build these items.

    Args:
        where: the region: ``sympy.Eq(coordinate, value)``, a piece name such as ``"x=-1"``
            or ``"circle"``, ``"boundary"`` (every piece), ``po.Side(t, "lower")``, a list of
            pieces, ``po.interior``, or a :class:`~pinnopt.domain.Region` (e.g. ``po.Points``).
        expr: the expression that vanishes there.
        n: number of collocation points on the region (default: the solver's default).
        name: the loss term's name (default: derived from the region).
        weight: the loss term's weight (positive).
    """

    where: Any
    expr: Any
    n: int | None = None
    name: str | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.n is not None and (not isinstance(self.n, (int, np.integer)) or self.n < 1):
            raise ProblemError(f"On(..., n={self.n!r}): the number of points must be an int >= 1")
        w = as_number(self.weight, "On(..., weight=...)", ProblemError)
        if not (w > 0 and w != float("inf")):
            raise ProblemError(f"On(..., weight={self.weight!r}): weights must be positive and finite")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ProblemError(f"On(..., name={self.name!r}): a name must be a non-empty string")


@dataclass(frozen=True)
class Parameter:
    """A trainable scalar coefficient (inverse problems).

    Args:
        symbol: the sympy symbol used in the equations.
        init: the initial guess.
        exact: the true value, when known, for validation of the fit.
    """

    symbol: sp.Symbol
    init: float = 1.0
    exact: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, sp.Symbol):
            raise ProblemError(f"Parameter needs a sympy Symbol, got {self.symbol!r}")
        if not np.isfinite(as_number(self.init, f"Parameter({self.symbol}, init=...)", ProblemError)):
            raise ProblemError(f"Parameter {self.symbol}: initial value {self.init!r} is not finite")
        if self.exact is not None and not np.isfinite(
            as_number(self.exact, f"Parameter({self.symbol}, exact=...)", ProblemError)
        ):
            raise ProblemError(f"Parameter {self.symbol}: exact value {self.exact!r} is not finite")

    @property
    def name(self) -> str:
        """The symbol's name: the key of ``result.parameters``."""
        return str(self.symbol)


@dataclass(frozen=True)
class TermSpec:
    """One compiled piece of a problem: an expression that must vanish on a region.

    Attributes:
        kind: ``"equation"``, ``"condition"`` or ``"data"``.
        mode: ``"residual"`` (mean square of ``expr``, minus ``data[target]`` when given,
            weighted by ``data[point_weights]`` when given) or ``"paired"`` (each of
            ``exprs`` matched between the first and second half of the points: periodicity).
        source: the declared item (an :class:`On`, a :class:`Condition`) it came from.
    """

    name: str
    region: Region
    expr: CompiledExpression
    n: int | None
    weight: float
    kind: str
    mode: str = "residual"
    exprs: tuple[CompiledExpression, ...] = ()
    target: str | None = None
    point_weights: str | None = None
    source: Any = None


class Condition(abc.ABC):
    """A declared item other than a plain :class:`On` (periodicity, observations...).

    It names the sympy expressions it uses (to find the unknowns) and compiles itself into
    :class:`TermSpec` items once the problem's names are known.
    """

    name: str | None

    @abc.abstractmethod
    def expressions(self) -> list[sp.Expr]:
        """The sympy expressions it constrains (their unknowns join the problem's)."""

    @abc.abstractmethod
    def term_specs(self, domain: Domain, ctx: SymbolContext, what: str) -> list[TermSpec]:
        """Compile into term specs; ``what`` names the item in error messages."""
