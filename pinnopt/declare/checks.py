"""Checks of declared inputs that refuse a bad problem or model by name, before any training.

* :func:`check_points_inside`: given points (``po.On(po.Points(...), expr)``) lie in the domain.
* :func:`check_unknowns_determined`: every unknown appears in an equation or an energy (a
  typo such as ``U`` for ``u`` in a condition would otherwise become a second unknown with
  no equation).
* :func:`check_uncertain_used`: every uncertain coefficient is read by some compiled expression.
* :func:`with_exact`: ``Problem(exact_parameters=...)`` names declared parameters.
* :func:`~pinnopt.compile.checks.probe_module`: a custom ``torch.nn.Module`` maps ``(N, dim)``
  to ``(N, n_unknowns)`` and something trainable reaches its output.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sympy as sp
import torch
from sympy.core.function import AppliedUndef

from ..domain import Domain, Region
from ..errors import ProblemError, UnusedSymbolError, as_number
from .items import Parameter, TermSpec
from .objective import CompiledLoss

OUTSIDE_TOL = 1e-9
"""Relative tolerance (times the domain's largest coordinate, at least 1) for points on the boundary."""


def domain_scale(domain: Domain) -> float:
    """The largest absolute coordinate bound of ``domain``, at least 1 (scales tolerances)."""
    lo, hi = domain.bounds
    return max(1.0, *(abs(v) for v in (*lo, *hi)))


def check_points_inside(domain: Domain, region: Region, what: str) -> None:
    """Refuse given points (a region with fixed points) that lie outside ``domain``.

    Raises:
        ProblemError: naming ``what``, the region, how many points lie outside and the first one.
    """
    pts = region.fixed_points
    if pts is None:
        return
    names = [str(c) for c in domain.coordinates]
    if pts.shape[1] != domain.dim:
        raise ProblemError(
            f"{what}: points {region.name!r} have {pts.shape[1]} column(s) but the domain's coordinates "
            f"are {names}"
        )
    outside = ~domain.contains(pts.to(torch.float64), tol=OUTSIDE_TOL * domain_scale(domain))
    if bool(outside.any()):
        rows = outside.nonzero()[:, 0]
        first = int(rows[0])
        where = ", ".join(f"{n}={v:g}" for n, v in zip(names, pts[first].tolist(), strict=True))
        raise ProblemError(
            f"{what}: {len(rows)} point(s) of {region.name!r} lie outside the domain {domain}; the first "
            f"is row {first} ({where})"
        )


def unknown_names(exprs: Iterable[sp.Basic], functions: Any) -> set[str]:
    """Names of the unknown functions (applied, not in the function table) in ``exprs``."""
    out: set[str] = set()
    for e in exprs:
        for f in sp.sympify(e).atoms(AppliedUndef):
            if f.func.__name__ not in functions:
                out.add(f.func.__name__)
    return out


def check_unknowns_determined(
    unknowns: Sequence[str],
    equations: Sequence[sp.Basic],
    energies: Sequence[sp.Basic],
    functions: Any,
    declared: Sequence[str] = (),
) -> None:
    """Refuse an unknown that appears in no equation and no energy, only in conditions or data.

    The rule applies when the problem has equations or energies at all (a pure fit of
    observations has neither). An unknown listed in ``Problem(unknowns=...)`` is taken as
    intended (e.g. a field fitted to data only) and passes.

    Raises:
        ProblemError: naming the unknown and, when one is close, the declared unknown it may
            be a typo of.
    """
    if not equations and not energies:
        return
    used = unknown_names([*equations, *energies], functions)
    stray = [name for name in unknowns if name not in used and name not in set(declared)]
    if not stray:
        return
    lines = []
    for name in stray:
        others = {o.lower(): o for o in sorted(used)}
        close = difflib.get_close_matches(name.lower(), list(others), n=1, cutoff=0.5)
        hint = f"; did you mean {others[close[0]]!r}?" if close else ""
        lines.append(f"unknown {name!r} appears in no equation or energy, only in conditions or data{hint}")
    raise ProblemError(
        "; ".join(lines)
        + f" (the equations determine {sorted(used)}; list every unknown in Problem(unknowns=[...]) "
        "to keep one determined by conditions or data alone)"
    )


def with_exact(
    params: tuple[Parameter, ...], exact: Mapping[sp.Symbol, float] | None
) -> tuple[Parameter, ...]:
    """Set ``Parameter.exact`` from ``Problem(exact_parameters={symbol: value})``."""
    if exact is None:
        return params
    if not isinstance(exact, Mapping):
        raise ProblemError(f"exact_parameters={exact!r}: expected a dict {{symbol: value}}")
    by_name = {p.name: p for p in params}
    values = {}
    for s, v in exact.items():
        name = str(s)
        if name not in by_name:
            raise ProblemError(
                f"exact_parameters: {name} is not a declared parameter "
                f"(parameters: {sorted(by_name) or 'none'})"
            )
        values[name] = as_number(v, f"exact_parameters[{name}]", ProblemError)
    return tuple(replace(p, exact=values[p.name]) if p.name in values else p for p in params)


def check_uncertain_used(
    uncertain: Sequence[Any], terms: Sequence[TermSpec], losses: Sequence[CompiledLoss], constraints: Any
) -> None:
    """Refuse an uncertain coefficient that no compiled expression reads (a typo or a stray set)."""
    if not uncertain:
        return
    read: set[str] = set()
    for t in terms:
        for c in (t.expr, *t.exprs):
            read |= set(c.scalars)
    read |= {n for c in losses for n in c.compiled.scalars}
    for group in (
        constraints.inequalities,
        constraints.regularization,
        constraints.compiled_equalities,
        constraints.energies,
    ):
        read |= {n for item in group for n in getattr(item.compiled, "scalars", ())}
    unused = [n for u in uncertain for n in u.names if n not in read]
    if unused:
        raise UnusedSymbolError(
            f"uncertain coefficient(s) {unused} appear in no loss, equation, condition, observation or "
            f"bound (they read {sorted(read) or 'no scalar'}); an uncertainty set must be over a symbol the "
            "problem uses"
        )
