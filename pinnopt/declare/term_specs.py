"""From a problem's declared items to its terms: which unknowns they use, and term names.

Used by :class:`~pinnopt.declare.problem.Problem` when it is built: :func:`find_unknowns`
collects the unknown functions of the expressions, :func:`term_specs` compiles equations,
conditions and data into :class:`~pinnopt.declare.items.TermSpec` values with unique,
readable names.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from ..domain import Domain, Region
from ..errors import NoUnknownError, ProblemError
from ..symbolic import FunctionTable, SymbolContext, as_expression, compile_expression
from ..symbolic.names import constrained_fields
from .checks import check_points_inside
from .grids import TIME_NAMES
from .items import Condition, On, TermSpec

log = logging.getLogger("pinnopt")


def find_unknowns(
    exprs: list[sp.Expr], table: FunctionTable, coords: tuple[sp.Symbol, ...]
) -> tuple[tuple[str, ...], dict[str, tuple[sp.Symbol, ...]]]:
    """Unknown names, and the coordinate subsets of unknowns that take fewer coordinates."""
    args: dict[str, set[tuple[Any, ...]]] = {}
    for e in exprs:
        for f in e.atoms(AppliedUndef):
            if f.func.__name__ not in table:
                args.setdefault(f.func.__name__, set()).add(tuple(f.args))
    subsets: dict[str, tuple[sp.Symbol, ...]] = {}
    for name, uses in args.items():
        proper = [
            a
            for a in uses
            if all(isinstance(s, sp.Symbol) and s in coords for s in a)
            and len(set(a)) == len(a)
            and 0 < len(a) < len(coords)
        ]
        if not proper:
            continue
        if len(uses) > 1:
            written = ", ".join(sorted(f"{name}({', '.join(map(str, a))})" for a in uses))
            raise ProblemError(
                f"unknown {name} is written with different arguments: {written}; an unknown "
                "takes the same coordinates everywhere"
            )
        subsets[name] = tuple(c for c in coords if c in set(proper[0]))
        log.info("unknown %s depends on %s only", name, [str(c) for c in subsets[name]])
    return tuple(sorted(args)), subsets


def term_specs(
    domain: Domain,
    items: list[On],
    conditions: tuple[Any, ...],
    data: tuple[Condition, ...],
    ctx: SymbolContext,
) -> tuple[TermSpec, ...]:
    """The terms of equations (``items``), conditions and data, with unique, readable names."""
    specs: list[TermSpec] = []
    described: list[str | None] = []  # the readable name of a term named after its region
    regions: dict[str, Region] = {}
    groups = (("equation", items), ("condition", list(conditions)), ("data", list(data)))
    for kind, group in groups:
        for i, item in enumerate(group):
            what = f"{kind} {i}" + (f" ({item.name})" if item.name else "")
            readable = None
            if isinstance(item, Condition):
                new = item.term_specs(domain, ctx, what)
            else:
                try:
                    compiled = compile_expression(item.expr, ctx, what=what)
                except NoUnknownError as exc:
                    raise NoUnknownError(
                        f"{exc}; a loss of the parameters alone is declared with Problem(minimize=expr)"
                    ) from exc
                region = domain.region(item.where)
                check_points_inside(domain, region, what)
                if item.name:
                    name = item.name
                elif kind == "equation":
                    name = "pde" if len(items) == 1 else f"pde{i}"
                else:
                    name = region.name
                    readable = _readable_name(item, region, ctx)
                new = [TermSpec(name, region, compiled, item.n, float(item.weight), kind, source=item)]
            for spec in new:
                _check_normals(spec, what)
                other = regions.setdefault(spec.region.name, spec.region)
                if other is not spec.region and (
                    spec.region.fixed_points is not None or other.fixed_points is not None
                ):
                    raise ProblemError(
                        f"{what}: two different regions are named {spec.region.name!r}; give "
                        "given points (po.Points, po.Observations) distinct names"
                    )
                specs.append(spec)
                described.append(readable)
    return _unique_names(specs, described)


def _readable_name(item: On, region: Region, ctx: SymbolContext) -> str:
    """What a condition constrains and where: ``u at x=-1``; ``initial u_t`` on the lower
    side of a time coordinate (``t``, ``time``, ``tau``)."""
    fields = (
        ", ".join(constrained_fields(as_expression(item.expr), ctx.coordinates, ctx.unknowns)) or "residual"
    )
    coordinate, outward = getattr(region, "coordinate", None), getattr(region, "outward", 0.0)
    if str(coordinate) in TIME_NAMES and outward < 0:  # the lower side of t: po.Initial, Eq(t, 0)
        return f"initial {fields}"
    return f"{fields} at {region.name}"


def _unique_names(specs: list[TermSpec], described: list[str | None]) -> tuple[TermSpec, ...]:
    """Unique, stable term names: terms named after a region they share with another term
    take their readable names (``u at t=0``, ``initial u_t``); a name still taken gets ``#k``."""
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.name] = counts.get(spec.name, 0) + 1
    out: list[TermSpec] = []
    used: dict[str, int] = {}
    for spec, readable in zip(specs, described, strict=True):
        name = readable if readable is not None and counts[spec.name] > 1 else spec.name
        if name in used:
            used[name] += 1
            name = f"{name}#{used[name]}"
        else:
            used[name] = 1
        out.append(spec if name == spec.name else replace(spec, name=name))
    return tuple(out)


def _check_normals(spec: TermSpec, what: str) -> None:
    uses = any("normal" in e.data for e in (spec.expr, *spec.exprs))
    if uses and not spec.region.has_normals:
        raise ProblemError(
            f"{what}: {spec.expr.expr} uses the outward normal, but region {spec.region.name!r} has "
            "no normals; normal derivatives hold on boundary pieces"
        )
