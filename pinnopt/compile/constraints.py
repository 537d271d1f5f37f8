"""Turn a :class:`ConstraintSet` into loss terms, point sets, hooks and parameter transforms."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..declare.bounds import EXACT_METHODS
from ..declare.constraints import ConstraintSet
from ..declare.energy import WEIGHT_KEY, CompiledEnergy, box_axes, domain_measure, gauss_points
from ..declare.regularization import WeightPrior
from ..domain import Domain, Interior
from ..errors import ProblemError
from ..losses import PointSet, Term
from ..losses.barrier import BarrierTerm
from ..losses.constraint_terms import EnergyTerm, EqualityTerm, RegularizationTerm, WeightPriorTerm
from ..losses.hooks import TrainingHook
from ..strategies.constraints import AugmentedLagrangian, BarrierContinuation, BarrierMonitor, Projection
from .reparam import exact_limits


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
    for r in cs.regularization:
        if isinstance(r.regularizer, WeightPrior):
            terms.append(WeightPriorTerm(r.name, r.regularizer))
        else:
            assert r.compiled is not None
            terms.append(RegularizationTerm(r.name, r.compiled, r.regularizer))
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


def energy_point_set(
    item: CompiledEnergy,
    domain: Domain,
    default_n: int,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: torch.device,
) -> PointSet:
    """The fixed quadrature points and weights of one energy term."""
    e = item.energy
    if e.quadrature == "gauss":
        axes = box_axes(domain)
        if axes is None:
            raise ProblemError(
                f"{item.name}: Gauss quadrature needs an interval or a box; use quadrature='mc' on {domain!r}"
            )
        n = e.n or 128 ** len(axes)
        pts, w = gauss_points(axes, n)
        x = torch.as_tensor(pts, dtype=dtype, device=device)
        wt = torch.as_tensor(w, dtype=dtype, device=device)
    else:
        n = e.n or default_n
        x = domain.interior().sample(n, generator, dtype, device)
        wt = torch.full((n,), domain_measure(domain, e.measure) / n, dtype=dtype, device=device)
    return PointSet(item.name, x, {WEIGHT_KEY: wt})
