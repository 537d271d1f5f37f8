"""Constrained minimization of a sympy objective of trainable parameters only (no network).

``fit_parameters(J, {k: 1.0}, bounds=[k >= 0.1])`` minimizes ``J(k)``: it declares
``po.Problem(minimize=po.Minimize(J, name="objective"), parameters=..., bounds=...)`` and
compiles it with the compile stage :func:`pinnopt.solve` uses (same terms, same trainer),
so a constrained fit can be checked against a reference optimizer that solves the identical
problem (scipy's SLSQP or trust-constr with the bound as a true hard constraint). Useful for
small calibration problems and for studying the barrier (its shift versus ``m``).

Uncertain coefficients (``uncertain={xi: po.robust.BoxSet(0, 1)}``) make it a min-max: the
worst case over their set is minimized, as in :func:`pinnopt.solve`.

Training runs ``rounds`` times with fresh optimizers. Between rounds the augmented-
Lagrangian multipliers are updated and barrier coefficients with a
:class:`~pinnopt.Continuation` step geometrically from its start to
their final ``m`` (reached in the last round). Each round is a complete solve, so L-BFGS
always sees one fixed objective.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
import torch

from ..compile.reparam import bake, exact_limits
from ..compile.robust import summarize
from ..compile.stage import compile_problem
from ..declare.bounds import EXACT_METHODS
from ..declare.constraints import ConstraintSet
from ..declare.items import Parameter
from ..declare.objective import Minimize
from ..declare.problem import Problem
from ..errors import ConfigError, ProblemError
from ..losses import Term
from ..losses.barrier import BarrierTerm
from ..losses.constraint_terms import EqualityTerm
from ..robust import RobustReport, RobustTerm
from ..strategies.constraints import BarrierMonitor, Projection
from ..train import LBFGS, Phase, Trainer, TrainOutcome
from ..validate.feasibility import FeasibilityReport, check

OBJECTIVE = "objective"
"""The term name of the fitted expression."""


@dataclass
class ParameterFit:
    """The outcome of :func:`fit_parameters`.

    Attributes:
        values: the fitted parameters.
        objective: ``J`` at the fitted values (without barrier or penalty terms; with
            uncertain coefficients, its worst case over their set).
        feasibility: how the bounds and equalities hold.
        outcomes: the trainer's report of every round.
        constraints: the compiled constraints.
        robust: with uncertain coefficients, the worst case found and its certificate.
        problem: the declared problem that was minimized.
    """

    values: dict[str, float]
    objective: float
    feasibility: FeasibilityReport
    outcomes: list[TrainOutcome] = field(default_factory=list)
    constraints: ConstraintSet | None = None
    robust: RobustReport | None = None
    problem: Problem | None = None

    @property
    def steps(self) -> int:
        """Optimizer steps over all rounds."""
        return sum(o.steps for o in self.outcomes)


def fit_parameters(
    objective: Any,
    parameters: Sequence[Parameter] | Mapping[sp.Symbol, float],
    *,
    bounds: Any = (),
    equalities: Any = (),
    regularization: Any = (),
    constants: Mapping[sp.Symbol, float] | None = None,
    uncertain: Any = (),
    robust: Any = None,
    phases: Sequence[Phase] | None = None,
    rounds: int = 1,
    dtype: torch.dtype = torch.float64,
    log_every: int = 100,
) -> ParameterFit:
    """Minimize a sympy expression of trainable parameters under bounds and equalities.

    Args:
        objective: the expression ``J`` to minimize.
        parameters: ``po.Parameter`` items or ``{symbol: initial value}``.
        bounds: parameter bounds (relations, ``po.between``, ``po.Bound``).
        equalities: ``sympy.Eq`` items or ``po.Equality``.
        regularization: ``po.L2``, ``po.L1``, ``po.Range``.
        constants: symbols with fixed values.
        uncertain: uncertain coefficients ``{symbol: po.robust.BoxSet(lo, hi)}`` (as in
            ``po.Problem``): the worst case of ``J`` over their set is minimized.
        robust: the worst-case groups (as in :func:`pinnopt.solve`; default: every term
            that reads an uncertain coefficient).
        phases: optimizer phases of each round (default: ``LBFGS(steps=1000)``).
        rounds: how many times to run the phases; multipliers and continuations advance
            between rounds.
        dtype: ``torch.float64`` (default) or ``torch.float32``.
        log_every: steps between host synchronizations.
    """
    if not isinstance(rounds, int) or rounds < 1:
        raise ConfigError(f"fit_parameters(rounds={rounds!r}): expected an int >= 1")
    if not parameters:
        raise ProblemError("fit_parameters needs at least one trainable parameter")
    problem = Problem(
        minimize=Minimize(objective, name=OBJECTIVE),
        parameters=parameters,
        bounds=bounds,
        equalities=equalities,
        regularization=regularization,
        constants=dict(constants or {}),
        uncertain=uncertain,
        name="fit_parameters",
    )
    compiled = compile_problem(problem, robust=robust, dtype=dtype, device="cpu")
    model, obj, cs = compiled.model, compiled.objective, problem.constraints
    phases = list(phases) if phases is not None else [LBFGS(steps=1000)]
    hooks: list[Any] = []  # continuation and multipliers advance between rounds, not within
    limits = exact_limits(cs.inequalities, "project")
    if limits:
        hooks.append(Projection(limits))
    barrier_names = [q.name for q in cs.inequalities if q.bound.method not in EXACT_METHODS]
    if barrier_names:
        hooks.append(BarrierMonitor(barrier_names))
    by_name = {t.name: t for t in obj.terms}
    outcomes = []
    for r in range(rounds):
        for q in cs.inequalities:
            cont = q.bound.continuation
            if cont is not None:
                progress = 1.0 if rounds == 1 else r / (rounds - 1)
                term = by_name[q.name]
                assert isinstance(term, BarrierTerm)
                term.set_m(cont.value(q.bound.m, progress))
        trainer = Trainer(model, obj, compiled.points, phases, log_every=log_every, hooks=hooks)
        outcomes.append(trainer.run())
        if r < rounds - 1:
            for t in obj.terms:
                if isinstance(t, EqualityTerm):
                    t.update(model.scalars())
    bake(model)
    value = _objective_value(obj.terms, model, obj, compiled.points)
    report = check(cs, model, None)
    if not math.isfinite(value):
        raise ConfigError(f"fit_parameters diverged: the objective is {value} at {model.parameter_values()}")
    worst = summarize(problem, model, obj, compiled.points, compiled.groups)
    return ParameterFit(model.parameter_values(), value, report, outcomes, cs, worst, problem)


def _objective_value(terms: Sequence[Term], model: Any, obj: Any, points: Any) -> float:
    """The loss of the fitted expression's term (its worst case when a robust group holds it)."""
    ev = obj.evaluation(model, points, create_graph=False)
    for t in terms:
        inner = [u.name for u in t.terms] if isinstance(t, RobustTerm) else [t.name]
        if OBJECTIVE in inner:
            if isinstance(t, RobustTerm):
                return float(t.loss(ev).detach())
            with torch.no_grad():
                return float(t.loss(ev))
    raise AssertionError("the objective term is missing")  # pragma: no cover
