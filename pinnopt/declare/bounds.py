"""Declaring bounds: inequalities on trainable parameters and on expressions of the unknowns.

A bound is a sympy relation. On a parameter: ``k >= 0.1``, ``c <= 1``, two-sided
``po.between(c, 0, 1)`` (the same as ``sympy.And(c >= 0, c <= 1)``; Python cannot chain
sympy relations). On the unknowns over a region: ``u >= psi`` in the interior,
``u.diff(x) <= 0`` on a boundary piece, ``u <= 1`` everywhere. Plain relations get the
defaults; :class:`Bound` sets how the bound is enforced::

    po.Problem(..., bounds=[k >= 0.1,
                            po.Bound(u >= psi, m=1e4, continuation=po.Continuation(10)),
                            po.Bound(po.between(c, 0, 1), method="reparam")])

Every relation is normalized to one-sided slacks ``g >= 0`` (``lhs - rhs`` for ``>=``,
``rhs - lhs`` for ``<=``; strict relations are treated as non-strict) and compiled once,
with the problem, into :class:`Inequality` items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
import torch
from sympy.core.function import AppliedUndef
from sympy.core.relational import Relational

from ..domain import Domain, Region
from ..errors import ProblemError, as_number
from ..symbolic import CompiledExpression, SymbolContext
from ..symbolic.scalars import compile_scalar_safe, scalar_env
from .barriers import DEFAULT_CAP, DEFAULT_FLOOR, check_barrier_settings
from .checks import check_points_inside

METHODS = {
    "barrier": "exponential barrier exp(m * violation), works from infeasible starts",
    "log": "log barrier -ln(slack)/m, needs a strictly feasible start",
    "reparam": "exact: the parameter is a bounded function of a free variable (parameters only)",
    "project": "exact: the parameter is clamped into its bounds after every step (parameters only)",
}
"""Ways to enforce a bound, by name."""

EXACT_METHODS = ("reparam", "project")
REDUCTIONS = ("mean", "max")


def between(expr: Any, lower: float, upper: float) -> sp.And:
    """``lower <= expr <= upper`` as ``sympy.And(expr >= lower, expr <= upper)``."""
    lo, hi = _limit(lower, "lower"), _limit(upper, "upper")
    if not lo < hi:
        raise ProblemError(
            f"between({expr}, {lower}, {upper}): the lower limit must be below the upper limit"
        )
    e = sp.sympify(expr)
    return sp.And(sp.GreaterThan(e, lo, evaluate=False), sp.LessThan(e, hi, evaluate=False), evaluate=False)


def _limit(value: Any, what: str) -> sp.Expr:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"between(): the {what} limit {value!r} is not a number") from exc
    if not math.isfinite(v):
        raise ProblemError(
            f"between(): the {what} limit {value!r} is not finite; a bound needs finite limits"
        )
    return sp.sympify(value)


@dataclass(frozen=True)
class Continuation:
    """Raise a barrier coefficient geometrically from ``start`` to the bound's ``m``.

    ``m(step) = start * (m / start) ** min(1, step / steps)``, updated every ``every`` steps.
    With ``steps=None`` the ramp spans the gradient phases before the first L-BFGS phase:
    L-BFGS keeps curvature pairs of one fixed objective, so the coefficient must not change
    while it runs. In :func:`~pinnopt.workflows.fit_parameters` the ramp runs over the
    rounds instead.
    """

    start: float = 1.0
    steps: int | None = None
    every: int = 10

    def __post_init__(self) -> None:
        s = as_number(self.start, "Continuation(start=...)", ProblemError)
        if not (math.isfinite(s) and s > 0):
            raise ProblemError(f"Continuation(start={self.start!r}): expected a positive finite number")
        if self.steps is not None and (not isinstance(self.steps, (int, np.integer)) or self.steps < 1):
            raise ProblemError(f"Continuation(steps={self.steps!r}): expected an int >= 1 or None")
        if not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise ProblemError(f"Continuation(every={self.every!r}): expected an int >= 1")

    def value(self, m_final: float, progress: float) -> float:
        """The coefficient at ``progress`` in [0, 1] of the ramp."""
        p = min(max(float(progress), 0.0), 1.0)
        return float(self.start * (m_final / self.start) ** p)


@dataclass(frozen=True)
class Bound:
    """A bound with its enforcement settings.

    Args:
        relation: a sympy inequality (``k >= 0.1``, ``u <= 1``), or ``sympy.And`` of several
            (``po.between(c, 0, 1)``).
        where: the region of a bound on the unknowns (default: the interior); a parameter
            bound takes no region.
        m: the barrier coefficient (final value when a continuation raises it). Larger is
            closer to the hard bound: an active optimum moves by about ``ln(m/|dJ|)/m``.
        method: ``"barrier"`` (exponential, default), ``"log"``, or for a single parameter
            the exact ``"reparam"`` / ``"project"`` (see :data:`METHODS`).
        reduce: how a field bound combines its points: ``"mean"`` or ``"max"``.
        n: number of points for a field bound (default: those of its region, or the
            solver's default).
        name: the loss term's name (default ``"bound:<relation>"``).
        weight: the barrier term's weight.
        continuation: raise ``m`` during training (:class:`Continuation`).
        cap: exponent past which the exponential barrier continues linearly.
        floor: slack below which the log barrier continues as a quadratic.
    """

    relation: Any
    where: Any = None
    m: float = 1e3
    method: str = "barrier"
    reduce: str = "mean"
    n: int | None = None
    name: str | None = None
    weight: float = 1.0
    continuation: Continuation | None = None
    cap: float = DEFAULT_CAP
    floor: float = DEFAULT_FLOOR

    def __post_init__(self) -> None:
        label = f"Bound({self.relation})"
        for attr in ("m", "weight", "cap", "floor"):
            v = getattr(self, attr)
            ok = isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
            if not ok or not (math.isfinite(float(v)) and float(v) > 0):
                raise ProblemError(f"{label}: {attr}={v!r}; expected a positive finite number")
        if self.method not in METHODS:
            raise ProblemError(f"{label}: method={self.method!r}; expected one of {sorted(METHODS)}")
        check_barrier_settings(self.method, self.m, self.cap, self.floor, label)
        if self.reduce not in REDUCTIONS:
            raise ProblemError(f"{label}: reduce={self.reduce!r}; expected one of {list(REDUCTIONS)}")
        if self.n is not None and (not isinstance(self.n, (int, np.integer)) or self.n < 1):
            raise ProblemError(f"{label}: n={self.n!r}; expected an int >= 1")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ProblemError(f"{label}: name={self.name!r}; expected a non-empty string")
        if self.continuation is not None:
            if not isinstance(self.continuation, Continuation):
                raise ProblemError(
                    f"{label}: continuation must be po.Continuation(...), got {self.continuation!r}"
                )
            if self.method in EXACT_METHODS:
                raise ProblemError(f"{label}: method={self.method!r} is exact and has no m to raise")
            if self.continuation.start > self.m:
                raise ProblemError(
                    f"{label}: continuation starts at {self.continuation.start:g}, above m={self.m:g}; "
                    "a continuation raises m"
                )
        one_sided(self.relation, label)  # checks the relation itself


@dataclass(frozen=True)
class Inequality:
    """One compiled one-sided constraint ``slack >= 0`` of a declared :class:`Bound`.

    Attributes:
        name: the loss term's name.
        relation: the one-sided sympy relation it came from.
        slack: the sympy slack ``g``.
        compiled: ``g`` compiled.
        kind: ``"parameter"`` (only trainable parameters) or ``"field"`` (unknowns or
            coordinates, over ``region``).
        region: the region of a field bound.
        bound: the declaration (method, m, reduction...).
        parameter: for ``g = a * p + b`` in one parameter ``p``: its name (exact methods).
        limit: that bound's value ``-b / a``.
        side: ``"lower"`` or ``"upper"`` for such a bound.
    """

    name: str
    relation: sp.Basic
    slack: sp.Expr
    compiled: CompiledExpression
    kind: str
    region: Region | None
    bound: Bound
    parameter: str | None = None
    limit: float | None = None
    side: str | None = None


def as_bound(item: Any, index: int) -> Bound:
    """A :class:`Bound` from a declared item (a relation gets the defaults)."""
    if isinstance(item, Bound):
        return item
    if isinstance(item, (sp.Basic, bool)):
        return Bound(item)
    raise ProblemError(
        f"bound {index} must be a sympy inequality (k >= 0.1), po.between(...) or po.Bound(...), "
        f"got {type(item).__name__}: {item!r}"
    )


def one_sided(relation: Any, label: str) -> list[tuple[Relational, sp.Expr]]:
    """Split a relation into one-sided ``(relation, slack)`` pairs; reject malformed ones."""
    if isinstance(relation, bool) or relation in (sp.true, sp.false):
        raise ProblemError(
            f"{label}: the relation evaluated to {bool(relation)} before pinnopt saw it, so it involves "
            "no trainable parameter and no unknown; write it with a parameter or an unknown"
        )
    if isinstance(relation, sp.And):
        parts = list(relation.args)
    elif isinstance(relation, (sp.Or, sp.Not)):
        raise ProblemError(f"{label}: only inequalities and their conjunction (sympy.And) are bounds")
    else:
        parts = [relation]
    out: list[tuple[Relational, sp.Expr]] = []
    for r in parts:
        if isinstance(r, sp.Equality):
            raise ProblemError(
                f"{label}: {r} is an equality, not an inequality; declare it in equalities=[...] "
                "(parameters) or as an equation/condition (unknowns)"
            )
        if isinstance(r, sp.Unequality):
            raise ProblemError(f"{label}: {r} ('!=') is not a bound; use >=, >, <= or <")
        if not isinstance(r, Relational):
            raise ProblemError(
                f"{label}: {r} is not an inequality; expected a relation such as k >= 0.1 or u <= 1"
            )
        slack = sp.sympify(r.lhs - r.rhs if r.rel_op in (">=", ">") else r.rhs - r.lhs)
        if slack.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            raise ProblemError(f"{label}: {r} has a non-finite limit; a bound needs finite limits")
        if not slack.free_symbols and not slack.atoms(AppliedUndef):
            raise ProblemError(f"{label}: {r} involves no trainable parameter and no unknown")
        out.append((r, slack))
    for i, (ri, gi) in enumerate(out):
        for rj, gj in out[i + 1 :]:
            total = sp.simplify(gi + gj)
            if total.is_number:
                if float(total) < 0:
                    raise ProblemError(
                        f"{label}: {ri} and {rj} cannot both hold (the lower limit is above the upper)"
                    )
                if float(total) == 0:
                    raise ProblemError(
                        f"{label}: {ri} and {rj} have equal limits; that is an equality, declare it "
                        "in equalities=[...]"
                    )
    return out


def compile_bounds(
    items: Sequence[Any],
    domain: Domain | None,
    ctx: SymbolContext,
    parameter_inits: dict[str, float],
) -> tuple[tuple[Bound, ...], tuple[Inequality, ...]]:
    """Normalize declared bounds and compile their one-sided slacks.

    ``domain`` None means a problem without coordinates (:func:`~pinnopt.workflows.fit_parameters`), where
    only parameter bounds are allowed.
    """
    bounds = tuple(as_bound(b, i) for i, b in enumerate(items))
    params = {s: str(s) for s in ctx.scalars}
    compiled: list[Inequality] = []
    for i, b in enumerate(bounds):
        label = f"bound {i} ({b.relation})"
        pairs = one_sided(b.relation, label)
        for k, (rel, slack) in enumerate(pairs):
            c = compile_scalar_safe(slack, ctx, what=label, require_unknown=False)
            field = bool(c.fields) or bool(slack.free_symbols & set(ctx.coordinates))
            if not c.fields and not c.scalars:
                raise ProblemError(
                    f"{label}: {rel} involves no trainable parameter and no unknown, so training cannot "
                    "change it"
                )
            if field:
                inequality = _field_inequality(b, rel, slack, c, domain, label, k, len(pairs))
            else:
                inequality = _parameter_inequality(b, rel, slack, c, params, label, k, len(pairs))
            compiled.append(inequality)
    _check_exact(compiled, parameter_inits)
    return bounds, tuple(compiled)


def _term_name(b: Bound, rel: Relational, k: int, n: int) -> str:
    if b.name is None:
        return "bound:" + str(rel).replace(" ", "")
    return b.name if n == 1 else f"{b.name}:{k}"


def _field_inequality(
    b: Bound,
    rel: Relational,
    slack: sp.Expr,
    c: CompiledExpression,
    domain: Domain | None,
    label: str,
    k: int,
    n: int,
) -> Inequality:
    if domain is None:
        raise ProblemError(f"{label}: {rel} involves unknowns or coordinates; only parameter bounds fit here")
    if b.method in EXACT_METHODS:
        raise ProblemError(
            f"{label}: method={b.method!r} is for single parameters; bounds on the unknowns use "
            "'barrier' or 'log'"
        )
    region = domain.region("interior" if b.where is None else b.where)
    check_points_inside(domain, region, label)
    return Inequality(_term_name(b, rel, k, n), rel, slack, c, "field", region, b)


def _parameter_inequality(
    b: Bound,
    rel: Relational,
    slack: sp.Expr,
    c: CompiledExpression,
    params: dict[sp.Symbol, str],
    label: str,
    k: int,
    n: int,
) -> Inequality:
    if b.where is not None:
        raise ProblemError(f"{label}: {rel} is a parameter bound; it holds everywhere and takes no where=")
    if b.reduce != "mean":
        raise ProblemError(f"{label}: reduce= applies to bounds over points, not to parameter bounds")
    name = _term_name(b, rel, k, n)
    syms = [s for s in slack.free_symbols if s in params]
    parameter = limit = side = None
    if len(syms) == 1:
        s = syms[0]
        a = sp.diff(slack, s)
        rest = sp.simplify(slack - a * s)
        if a.is_number and a != 0 and rest.is_number:
            parameter, limit = params[s], float(-rest / a)
            side = "lower" if float(a) > 0 else "upper"
    if b.method in EXACT_METHODS and parameter is None:
        raise ProblemError(
            f"{label}: method={b.method!r} needs a bound on one parameter with a numeric limit "
            f"(p >= lo, p <= hi, po.between(p, lo, hi)); {rel} is not of that form"
        )
    return Inequality(name, rel, slack, c, "parameter", None, b, parameter, limit, side)


def _check_exact(items: list[Inequality], inits: dict[str, float]) -> None:
    """Exact methods: one declaration per parameter, initial value strictly inside."""
    owner: dict[str, Bound] = {}
    for q in items:
        if q.bound.method in EXACT_METHODS:
            assert q.parameter is not None
            prev = owner.setdefault(q.parameter, q.bound)
            if prev is not q.bound:
                raise ProblemError(
                    f"parameter {q.parameter} has several exact bounds; declare both sides in one: "
                    f"po.Bound(po.between({q.parameter}, lo, hi), method={q.bound.method!r})"
                )
    scalars = {k: torch.tensor(float(v), dtype=torch.float64) for k, v in inits.items()}
    for q in items:
        method = q.bound.method
        if (
            q.kind != "parameter"
            or method not in ("reparam", "log")
            or not q.compiled.scalars <= set(scalars)
        ):
            continue
        g0 = float(q.compiled(scalar_env(scalars)))
        if not g0 > 0:
            start = ", ".join(f"{k}={float(scalars[k]):g}" for k in sorted(q.compiled.scalars))
            raise ProblemError(
                f"{q.relation}: method={method!r} needs an initial value strictly inside the bound, but "
                f"the start ({start}) has slack {g0:g}; change the initial value or use "
                "method='barrier', which works from infeasible starts"
            )
