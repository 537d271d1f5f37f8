"""Soft constraints: penalties that pull trainable parameters towards preferred values.

They *encourage*, they do not guarantee: the fitted value is a compromise between the
data/physics and the pull, set by the weight. A hard requirement is a bound
(:mod:`pinnopt.declare.bounds`) or an equality (:mod:`pinnopt.declare.equality`).

* :class:`L2`: ``weight * (expr - prior)**2``, a Gaussian prior; smooth.
* :class:`L1`: ``weight * |expr - prior|``; it can hold a parameter exactly at the prior when
  the data pull less than ``weight`` (non-smooth there: prefer gradient phases).
* :class:`Range`: ``weight * (dist(expr, [lower, upper]))**2``: zero inside a preferred
  range, a quadratic pull back outside it.
* :class:`WeightPrior`: a prior on the network's weights (``weight * sum w**2``, a Gaussian
  prior, i.e. weight decay in the loss; or ``weight * sum |w|``), for data fits with a network.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
import torch

from ..errors import ProblemError
from ..symbolic import CompiledExpression, SymbolContext
from ..symbolic.scalars import compile_scalar_safe


def _check_weight(owner: str, weight: Any) -> None:
    ok = isinstance(weight, (int, float, np.floating, np.integer)) and not isinstance(weight, bool)
    if not ok or not (math.isfinite(float(weight)) and float(weight) > 0):
        raise ProblemError(f"{owner}: weight={weight!r}; expected a positive finite number")


def _check_value(owner: str, what: str, value: Any) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"{owner}: {what}={value!r} is not a number") from exc
    if not math.isfinite(v):
        raise ProblemError(f"{owner}: {what}={value!r} is not finite")


class Regularizer(abc.ABC):
    """A soft pull of an expression of the parameters; subclasses define :meth:`penalty`."""

    expr: Any
    weight: float
    name: str | None

    @abc.abstractmethod
    def penalty(self, value: torch.Tensor) -> torch.Tensor:
        """The unweighted penalty of the expression's current ``value`` (0-d)."""

    @property
    def label(self) -> str:
        """The default term name."""
        return f"reg:{type(self).__name__}({str(self.expr).replace(' ', '')})"


@dataclass(frozen=True)
class L2(Regularizer):
    """``weight * (expr - prior)**2``: pull ``expr`` (a parameter or an expression of them) to ``prior``."""

    expr: Any
    prior: float = 0.0
    weight: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        _check_weight(f"L2({self.expr})", self.weight)
        _check_value(f"L2({self.expr})", "prior", self.prior)

    def penalty(self, value: torch.Tensor) -> torch.Tensor:
        d = value - float(self.prior)
        return d * d


@dataclass(frozen=True)
class L1(Regularizer):
    """``weight * |expr - prior|``: a sparsity-like pull; non-smooth at the prior."""

    expr: Any
    prior: float = 0.0
    weight: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        _check_weight(f"L1({self.expr})", self.weight)
        _check_value(f"L1({self.expr})", "prior", self.prior)

    def penalty(self, value: torch.Tensor) -> torch.Tensor:
        return torch.abs(value - float(self.prior))


@dataclass(frozen=True)
class Range(Regularizer):
    """``weight * dist(expr, [lower, upper])**2``: free inside the range, pulled back outside.

    Either limit may be None (a one-sided preference).
    """

    expr: Any
    lower: float | None = None
    upper: float | None = None
    weight: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        owner = f"Range({self.expr})"
        _check_weight(owner, self.weight)
        if self.lower is None and self.upper is None:
            raise ProblemError(f"{owner}: give lower=, upper= or both")
        for what in ("lower", "upper"):
            if getattr(self, what) is not None:
                _check_value(owner, what, getattr(self, what))
        if self.lower is not None and self.upper is not None and not float(self.lower) < float(self.upper):
            raise ProblemError(f"{owner}: lower={self.lower} must be below upper={self.upper}")

    def penalty(self, value: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(value)
        if self.lower is not None:
            out = out + torch.relu(float(self.lower) - value) ** 2
        if self.upper is not None:
            out = out + torch.relu(value - float(self.upper)) ** 2
        return out


@dataclass(frozen=True)
class WeightPrior:
    """A prior on the network's weights: ``weight * sum_w w**2`` (``kind="l2"``, a Gaussian prior
    of variance ``1 / (2 * weight)``) or ``weight * sum_w |w|`` (``kind="l1"``, a Laplace prior).

    Args:
        weight: the prior's strength (positive).
        kind: ``"l2"`` or ``"l1"``.
        biases: also penalize the biases (vectors); by default only weight matrices.
        name: the loss term's name (default ``"prior:weights"``).
    """

    weight: float = 1e-4
    kind: str = "l2"
    biases: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        _check_weight("WeightPrior()", self.weight)
        if self.kind not in ("l2", "l1"):
            raise ProblemError(f"WeightPrior(kind={self.kind!r}): expected 'l2' or 'l1'")
        if not isinstance(self.biases, bool):
            raise ProblemError(f"WeightPrior(biases={self.biases!r}): expected True or False")

    @property
    def label(self) -> str:
        """The default term name."""
        return "prior:weights"

    def penalty(self, w: torch.Tensor) -> torch.Tensor:
        """The unweighted penalty of one weight tensor (0-d)."""
        return (w * w).sum() if self.kind == "l2" else w.abs().sum()


@dataclass(frozen=True)
class CompiledRegularizer:
    """A declared regularizer with its compiled expression (None for a :class:`WeightPrior`) and
    term name."""

    name: str
    regularizer: Regularizer | WeightPrior
    compiled: CompiledExpression | None


def compile_regularization(items: Sequence[Any], ctx: SymbolContext) -> tuple[CompiledRegularizer, ...]:
    """Check and compile declared regularizers (expressions of the trainable parameters only)."""
    out = []
    for i, r in enumerate(items):
        if isinstance(r, WeightPrior):
            out.append(CompiledRegularizer(r.name or r.label, r, None))
            continue
        if not isinstance(r, Regularizer):
            raise ProblemError(
                f"regularization {i} must be po.L2(...), po.L1(...), po.Range(...) or po.WeightPrior(...), "
                f"got {type(r).__name__}: {r!r}"
            )
        what = f"regularization {i} ({r.label})"
        expr = sp.sympify(r.expr)
        c = compile_scalar_safe(expr, ctx, what=what, require_unknown=False)
        if c.fields or expr.free_symbols & set(ctx.coordinates):
            raise ProblemError(
                f"{what}: regularization pulls trainable parameters; {expr} involves unknowns or coordinates"
            )
        if not c.scalars:
            raise ProblemError(f"{what}: {expr} involves no trainable parameter")
        out.append(CompiledRegularizer(r.name or r.label, r, c))
    return tuple(out)
