"""The compile stage: one function from a declared problem to what the trainer needs.

:func:`compile_problem` is the only path from a :class:`~pinnopt.Problem` and the solver's
options to a model, point sets and an objective. :func:`pinnopt.solve`, the checks, the
diagnostics, pruning, bagging and the loss landscapes all call it, so they see the same
terms (hard constraints, robust groups and strategies included).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..declare.problem import Problem
from ..domain.sampling import Collocation, PointSource
from ..errors import ConfigError, PinnoptWarning
from ..losses import Objective, PointSet
from ..losses.hooks import TrainingHook
from ..nn import PINN, ModelSpec
from ..nn.taylor import AutoEngine
from ..nn.taylor.native import native_status
from ..robust.parametric import Parametric
from ..robust.spec import Group
from ..strategies.base import Strategy, apply_strategies
from ..strategies.sampling import SamplingHook
from ..symbolic import DerivativeEngine
from .assemble import (
    build_model,
    make_objective,
    point_sources,
    problem_terms,
    resolve_device,
    resolve_dtype,
    sample_points,
)
from .checks import probe_module
from .constraints import constraint_hooks
from .hard import ConstraintPlan, HardConstraints, describe, resolve_hard_constraints
from .reparam import exact_limits, reparameterize
from .robust import groups_for

ModelOption = ModelSpec | Parametric | nn.Module | None

BATCH_NORM_WARNING = (
    "norm='batch': batch statistics couple the collocation points, and training is slower and "
    "less accurate than without a norm (Poisson 1-D: 6x the error of no norm at equal budget, "
    "53x with the default configuration; docs/normalization.md); norm='layer' or 'group' act "
    "on each point alone"
)


@dataclass
class Compiled:
    """A compiled problem: what the trainer minimizes, and how it was built.

    Attributes:
        problem: the declared problem.
        model: the :class:`~pinnopt.nn.PINN` (network with exact-constraint transforms and the
            problem's trainable parameters), on ``device`` in ``dtype``.
        model_config: the JSON description of the network spec (None for a custom module).
        objective: the weighted sum of every term, as the trainer sees it.
        points: the collocation point sets by name.
        sources: where each point set is drawn from (adaptive sampling draws more there).
        hooks: the stateful parts that react to training, in update order: the constraints'
            (barrier continuation, multipliers, projections, monitor), the strategies', then
            the user's.
        plan: the exact-constraint plan (None when hard constraints are off).
        groups: the robust worst-case groups.
        strategies: the training strategies that rewrote the objective.
    """

    problem: Problem
    model: PINN
    model_config: dict[str, Any] | None
    objective: Objective
    points: dict[str, PointSet]
    sources: dict[str, PointSource]
    hooks: list[TrainingHook]
    plan: ConstraintPlan | None
    groups: list[Group]
    strategies: list[Strategy]
    dtype: torch.dtype
    device: torch.device
    seed: int
    collocation: Collocation = field(default_factory=Collocation)

    @property
    def enforced(self) -> list[str]:
        """Names of the conditions enforced exactly (their terms are not in the objective)."""
        return list(self.plan.enforced) if self.plan is not None else []

    def config(self) -> dict[str, Any]:
        """The JSON-ready description of what was compiled (part of ``Result.config``)."""
        out: dict[str, Any] = {
            "model": self.model_config,
            "collocation": {name: len(p) for name, p in self.points.items()},
            "sampler": self.collocation.sampler.name,
            "dtype": str(self.dtype).replace("torch.", ""),
            "seed": self.seed,
            "engine": self.objective.engine.name,
            "engine_settings": re.sub(r" at 0x[0-9a-fA-F]+", "", repr(self.objective.engine)),
            "native_kernels": native_status() if self.device.type == "cpu" else "off (not a CPU run)",
            "engine_by_point_set": {
                name: self.objective.engine.resolve(self.model, plan).name
                for name, plan in self.objective.plans.items()
            },
            "bounds": [list(b) for b in self.problem.domain.bounds],
        }
        constraints = self.problem.constraints
        if constraints:
            out["constraints"] = {q.name: q.bound.method for q in constraints.inequalities}
            out["constraints"].update({e.name: e.equality.method for e in constraints.compiled_equalities})
        if self.groups:
            out["robust"] = [g.config() for g in self.groups]
        if self.plan is not None:
            out["hard_constraints"] = self.enforced
            out["hard_constraints_detail"] = describe(self.plan)
        return out


def compile_problem(
    problem: Problem,
    *,
    model: ModelOption = None,
    collocation: Collocation | None = None,
    points: Mapping[str, PointSet] | None = None,
    hard_constraints: bool | str | HardConstraints = False,
    robust: Any = None,
    strategies: Sequence[Strategy] = (),
    hooks: Sequence[TrainingHook] = (),
    engine: DerivativeEngine | None = None,
    dtype: str | torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> Compiled:
    """Compile ``problem`` with the solver's options (see :func:`pinnopt.solve` for each).

    The network is initialized from ``torch.manual_seed(seed)`` and the points are drawn
    from a generator seeded with ``seed``, so equal arguments give equal models and points.
    """
    if not isinstance(problem, Problem):
        raise ConfigError(f"expected a po.Problem, got {type(problem).__name__}")
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    collocation = collocation or Collocation()
    if not isinstance(collocation, Collocation):
        raise ConfigError(f"collocation={collocation!r}: expected po.Collocation(interior=..., boundary=...)")
    plan = resolve_hard_constraints(problem, hard_constraints)
    enforced = plan.enforced if plan is not None else []
    if isinstance(model, ModelSpec) and getattr(model, "norm", None) == "batch":
        warnings.warn(BATCH_NORM_WARNING, PinnoptWarning, stacklevel=3)
    torch.manual_seed(seed)
    pinn, net_config = build_model(problem, model, plan)
    pinn = pinn.to(device=dev, dtype=dt)
    if isinstance(model, nn.Module):  # a custom module: checked once on a probe batch
        probe_module(model, problem.domain, len(problem.unknowns), dt, dev, scalars=bool(problem.parameters))
    reparameterize(pinn, exact_limits(problem.constraints.inequalities, "reparam"))
    sources = point_sources(problem, collocation, skip=enforced)
    if points is None:
        generator = torch.Generator(device=dev)
        generator.manual_seed(seed)
        sets = sample_points(problem, collocation, generator, dt, dev, skip=enforced)
    else:
        sets = _given_points(points, dt, dev)
    before = constraint_hooks(problem.constraints)
    for i, hook in enumerate([*before, *hooks]):
        if isinstance(hook, SamplingHook):
            hook.bind(sources, seed=seed + 7919 * (i + 1), dtype=dt, device=dev)
    engine = AutoEngine() if engine is None else engine
    if not isinstance(engine, DerivativeEngine):
        raise ConfigError(f"engine must be a DerivativeEngine (e.g. po.nn.AutoEngine()), got {engine!r}")
    groups = groups_for(problem, robust, pinn)
    terms = problem_terms(problem, engine, skip=enforced, robust=groups, model=pinn)
    asm, strategy_hooks = apply_strategies(strategies, problem, terms, sets, dt, dev)
    objective = make_objective(problem, asm.terms, engine, asm.scalars).to(dt, dev)
    sets = asm.points
    return Compiled(
        problem=problem,
        model=pinn,
        model_config=net_config,
        objective=objective,
        points=sets,
        sources=sources,
        hooks=[*before, *strategy_hooks, *hooks],
        plan=plan,
        groups=list(groups),
        strategies=list(strategies),
        dtype=dt,
        device=dev,
        seed=seed,
        collocation=collocation,
    )


def _given_points(
    points: Mapping[str, PointSet], dtype: torch.dtype, device: torch.device
) -> dict[str, PointSet]:
    if not isinstance(points, Mapping) or not all(isinstance(p, PointSet) for p in points.values()):
        raise ConfigError("points: expected a dict {region name: po PointSet}")
    return {name: ps.to(dtype, device) for name, ps in points.items()}
