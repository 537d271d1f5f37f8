"""Turn a :class:`ConstraintSet` into loss terms, point sets, hooks and parameter transforms."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..domain import Domain, Interior
from ..losses import PointSet, Term
from ..train.hooks import TrainingHook
from .barrier import BarrierTerm
from .bounds import EXACT_METHODS
from .energy import EnergyTerm, energy_point_set
from .equality import EqualityTerm
from .hooks import AugmentedLagrangian, BarrierContinuation, BarrierMonitor, Projection
from .regularization import RegularizationTerm
from .reparam import exact_limits
from .spec import ConstraintSet


def constraint_terms(cs: ConstraintSet) -> list[Term]:
    """One loss term per barrier-enforced inequality, regularizer, equality and energy."""
    terms: list[Term] = []
    for q in cs.inequalities:
        b = q.bound
        if b.method in EXACT_METHODS:
            continue
        m0 = b.continuation.start if b.continuation is not None else b.m
        terms.append(
            BarrierTerm(
                q.name,
                q.compiled,
                cs.point_sets.get(q.name),
                m0,
                kind="log" if b.method == "log" else "exp",
                reduce=b.reduce,
                cap=b.cap,
                floor=b.floor,
                weight=b.weight,
            )
        )
    terms += [RegularizationTerm(r.name, r.compiled, r.regularizer) for r in cs.regularization]
    terms += [EqualityTerm(e.name, e.compiled, e.equality) for e in cs.compiled_equalities]
    terms += [EnergyTerm(e.name, e.name, e.compiled, e.measure, e.energy.weight) for e in cs.energies]
    return terms


def constraint_hooks(cs: ConstraintSet) -> list[TrainingHook]:
    """Continuation, multiplier updates, projection and the barrier monitor, as needed."""
    hooks: list[TrainingHook] = []
    barriers = [q for q in cs.inequalities if q.bound.method not in EXACT_METHODS]
    schedules = {q.name: (q.bound.continuation, q.bound.m) for q in barriers if q.bound.continuation}
    if schedules:
        hooks.append(BarrierContinuation(schedules))  # type: ignore[arg-type]
    augmented = [e.name for e in cs.compiled_equalities if e.equality.method == "augmented"]
    if augmented:
        hooks.append(AugmentedLagrangian(augmented))
    limits = exact_limits(cs.inequalities, "project")
    if limits:
        hooks.append(Projection(limits))
    if barriers:
        hooks.append(BarrierMonitor([q.name for q in barriers]))
    return hooks


def constraint_points(
    cs: ConstraintSet,
    domain: Domain,
    existing: Mapping[str, PointSet],
    *,
    interior: int,
    boundary: int,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: torch.device,
) -> dict[str, PointSet]:
    """The point sets that field bounds and energies need and ``existing`` lacks.

    ``interior`` and ``boundary`` are the default point counts (the solver's collocation).
    """
    sets: dict[str, PointSet] = {}
    for q in cs.inequalities:
        name = cs.point_sets.get(q.name)
        if name is None or name in existing or name in sets:
            continue
        assert q.region is not None
        n = q.bound.n or (interior if isinstance(q.region, Interior) else boundary)
        x = q.region.sample(n, generator, dtype, device)
        data = {}
        normals = q.region.normals(x)
        if normals is not None:
            data["normal"] = normals
        sets[name] = PointSet(name, x, data)
    for e in cs.energies:
        sets[e.name] = energy_point_set(e, domain, interior, generator, dtype, device)
    return sets
