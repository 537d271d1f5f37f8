"""The compiled constraints of a problem: bounds, regularization, equalities, energies."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..domain import Domain, Region
from ..errors import ProblemError
from ..symbolic import SymbolContext
from .bounds import Bound, Inequality, as_bound, compile_bounds, one_sided
from .energy import CompiledEnergy, Energy, compile_energies
from .equality import CompiledEquality, Equality, compile_equalities
from .regularization import CompiledRegularizer, compile_regularization


@dataclass(frozen=True)
class ConstraintSet:
    """Everything besides equations and conditions that shapes the objective.

    Attributes:
        bounds: the declared bounds (plain relations wrapped in :class:`Bound`).
        inequalities: their compiled one-sided slacks, one loss term each.
        point_sets: the point set each field inequality reads, by term name.
        regularization: compiled soft pulls.
        equalities: the declared equalities (``.expr`` is the expression that must vanish).
        compiled_equalities: their compiled forms.
        energies: compiled energy terms.
    """

    bounds: tuple[Bound, ...] = ()
    inequalities: tuple[Inequality, ...] = ()
    point_sets: Mapping[str, str] = field(default_factory=dict)
    regularization: tuple[CompiledRegularizer, ...] = ()
    equalities: tuple[Equality, ...] = ()
    compiled_equalities: tuple[CompiledEquality, ...] = ()
    energies: tuple[CompiledEnergy, ...] = ()

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of every loss term these constraints add."""
        return (
            *(q.name for q in self.inequalities if q.bound.method not in ("reparam", "project")),
            *(r.name for r in self.regularization),
            *(e.name for e in self.compiled_equalities),
            *(e.name for e in self.energies),
        )

    def __bool__(self) -> bool:
        return bool(self.bounds or self.regularization or self.equalities or self.energies)


def declared_expressions(bounds: Any, energy: Any) -> list[sp.Expr]:
    """The sympy expressions of declared bounds and energies (their unknowns join the problem's)."""
    out: list[sp.Expr] = []
    for i, b in enumerate(_items(bounds)):
        bound = as_bound(b, i)
        out += [slack for _, slack in one_sided(bound.relation, f"bound {i}")]
    for e in _items(energy):
        if isinstance(e, Energy):
            out.append(sp.sympify(e.integrand))
    return out


def compile_constraints(
    domain: Domain | None,
    ctx: SymbolContext,
    parameter_inits: Mapping[str, float],
    *,
    bounds: Any = (),
    regularization: Any = (),
    equalities: Any = (),
    energy: Any = (),
    shared_regions: Mapping[str, Region] | None = None,
    taken: Collection[str] = (),
) -> ConstraintSet:
    """Check and compile declared constraints in a problem's context.

    Args:
        domain: the problem's domain (None for parameter-only fits).
        ctx: the problem's symbol context.
        parameter_inits: initial values of the trainable parameters, by name.
        shared_regions: the regions (by point-set name) the problem's terms already use; a
            field bound on the same region without its own ``n`` reads those points.
        taken: term names already used by equations and conditions.
    """
    decl, inequalities = compile_bounds(_items(bounds), domain, ctx, dict(parameter_inits))
    regs = compile_regularization(_items(regularization), ctx)
    eqs, compiled_eqs = compile_equalities(_items(equalities), ctx)
    energies = compile_energies(_items(energy), ctx, domain)
    shared_regions = dict(shared_regions or {})
    point_sets: dict[str, str] = {}
    own: dict[int, str] = {}
    for q in inequalities:
        if q.kind != "field":
            continue
        assert q.region is not None
        other = shared_regions.get(q.region.name)
        same = other is not None and (
            other is q.region or (other.fixed_points is None and q.region.fixed_points is None)
        )
        if q.bound.n is None and same:
            point_sets[q.name] = q.region.name
        else:
            point_sets[q.name] = own.setdefault(id(q.bound), q.name)
    cs = ConstraintSet(decl, inequalities, point_sets, regs, eqs, compiled_eqs, energies)
    names = [*taken, *cs.term_names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ProblemError(
            f"loss term names must be unique; {dupes} are used twice (equations, conditions, bounds, "
            "regularization, equalities, energies); give the constraint a name="
        )
    return cs


def _items(items: Any) -> tuple[Any, ...]:
    if items is None:
        return ()
    if isinstance(items, (sp.Basic, Bound, Equality, Energy, bool)) or not isinstance(items, Collection):
        return (items,)
    return tuple(items)
