"""Constrained minimization of a sympy objective of trainable parameters only (no network).

``fit_parameters(J, {k: 1.0}, bounds=[k >= 0.1])`` minimizes ``J(k)`` with the same terms,
hooks and trainer that :func:`pinnopt.solve` uses, so a constrained fit can be checked
against a reference optimizer that solves the identical problem (scipy's SLSQP or
trust-constr with the bound as a true hard constraint). Useful for small calibration
problems and for studying the barrier (its shift versus ``m``).

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
from torch import nn

from ..compile.constraints import constraint_terms
from ..compile.reparam import bake, exact_limits, reparameterize
from ..declare.bounds import EXACT_METHODS
from ..declare.constraints import ConstraintSet, compile_constraints
from ..declare.items import Parameter
from ..declare.problem import _normalize_parameters
from ..errors import ConfigError, ProblemError
from ..losses import Evaluation, Objective, Term
from ..losses.barrier import BarrierTerm
from ..losses.constraint_terms import EqualityTerm
from ..strategies.constraints import BarrierMonitor, Projection
from ..symbolic import DEFAULT_FUNCTIONS, CompiledExpression, SymbolContext
from ..symbolic.scalars import compile_scalar_safe, scalar_env
from ..train import LBFGS, Phase, Trainer, TrainOutcome
from ..validate.feasibility import FeasibilityReport, check


class ScalarModel(nn.Module):
    """Trainable scalars only: the ``params`` ParameterDict and ``scalars()`` of a PINN, no network."""

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        super().__init__()
        self.params = nn.ParameterDict(
            {p.name: nn.Parameter(torch.tensor(float(p.init))) for p in parameters}
        )
        self.unknowns: tuple[str, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ConfigError("a parameter-only model has no network to evaluate at points")

    def scalars(self) -> dict[str, torch.Tensor]:
        """Current values of the parameters, by name."""
        return dict(self.params.items())

    def parameter_values(self) -> dict[str, float]:
        """The parameters as Python floats."""
        return {k: float(v.detach()) for k, v in self.params.items()}


class ExpressionTerm(Term):
    """A scalar sympy expression of the parameters, used as a loss term as is."""

    def __init__(self, name: str, expr: CompiledExpression, weight: float = 1.0) -> None:
        self.name = name
        self.expr = expr
        self.weight = float(weight)
        self.point_set = None

    def loss(self, ev: Evaluation) -> torch.Tensor:
        return self.expr(scalar_env(ev.scalars))


@dataclass
class ParameterFit:
    """The outcome of :func:`fit_parameters`.

    Attributes:
        values: the fitted parameters.
        objective: ``J`` at the fitted values (without barrier or penalty terms).
        feasibility: how the bounds and equalities hold.
        outcomes: the trainer's report of every round.
        constraints: the compiled constraints.
    """

    values: dict[str, float]
    objective: float
    feasibility: FeasibilityReport
    outcomes: list[TrainOutcome] = field(default_factory=list)
    constraints: ConstraintSet | None = None

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
        phases: optimizer phases of each round (default: ``LBFGS(steps=1000)``).
        rounds: how many times to run the phases; multipliers and continuations advance
            between rounds.
        dtype: ``torch.float64`` (default) or ``torch.float32``.
        log_every: steps between host synchronizations.
    """
    params = _normalize_parameters(parameters)
    if not params:
        raise ProblemError("fit_parameters needs at least one trainable parameter")
    if not isinstance(rounds, int) or rounds < 1:
        raise ConfigError(f"fit_parameters(rounds={rounds!r}): expected an int >= 1")
    consts = {s: float(v) for s, v in dict(constants or {}).items()}
    ctx = SymbolContext((), (), tuple(p.symbol for p in params), consts, DEFAULT_FUNCTIONS)
    j = compile_scalar_safe(objective, ctx, what="objective", require_unknown=False)
    if not j.scalars:
        raise ProblemError(f"objective {objective} involves no trainable parameter")
    cs = compile_constraints(
        None,
        ctx,
        {p.name: float(p.init) for p in params},
        bounds=bounds,
        regularization=regularization,
        equalities=equalities,
        taken=("objective",),
    )
    model = ScalarModel(params).to(dtype)
    reparameterize(model, exact_limits(cs.inequalities, "reparam"))
    terms: list[Term] = [ExpressionTerm("objective", j), *constraint_terms(cs)]
    obj = Objective(terms, ()).to(dtype, torch.device("cpu"))
    phases = list(phases) if phases is not None else [LBFGS(steps=1000)]
    hooks: list[Any] = []
    limits = exact_limits(cs.inequalities, "project")
    if limits:
        hooks.append(Projection(limits))
    barrier_names = [q.name for q in cs.inequalities if q.bound.method not in EXACT_METHODS]
    if barrier_names:
        hooks.append(BarrierMonitor(barrier_names))
    by_name = {t.name: t for t in terms}
    outcomes = []
    for r in range(rounds):
        for q in cs.inequalities:
            cont = q.bound.continuation
            if cont is not None:
                progress = 1.0 if rounds == 1 else r / (rounds - 1)
                term = by_name[q.name]
                assert isinstance(term, BarrierTerm)
                term.set_m(cont.value(q.bound.m, progress))
        trainer = Trainer(model, obj, {}, phases, log_every=log_every, hooks=hooks)
        outcomes.append(trainer.run())
        if r < rounds - 1:
            for t in terms:
                if isinstance(t, EqualityTerm):
                    t.update(model.scalars())
    bake(model)
    with torch.no_grad():
        value = float(j(scalar_env(model.scalars())))
    report = check(cs, model, None)
    if not math.isfinite(value):
        raise ConfigError(f"fit_parameters diverged: the objective is {value} at {model.parameter_values()}")
    return ParameterFit(model.parameter_values(), value, report, outcomes, cs)
