"""Curriculum regularization (Krishnapriyan et al. 2021): raise a hard coefficient during training.

The problem declares the coefficient as a constant (``constants={beta: 30}``). A
:class:`Curriculum` recompiles the equations and conditions that use it with the
coefficient as a named scalar of the objective (``objective.scalars``), which a hook sets
from a schedule: from ``start`` up to ``end`` (default: the declared value) over the first
``steps`` steps, in ``stages`` equal levels (or continuously), then held at ``end``. By
default ``steps`` covers every phase but the last, so the last phase (e.g. L-BFGS) trains
at the target value; validation always uses the declared value. A change during an L-BFGS
phase resets its memory (the hook's update says ``objective_changed``). The history records the value
(series ``"curriculum"``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, final

import sympy as sp
import torch

from ..declare.items import Parameter
from ..declare.problem import Problem
from ..errors import ConfigError, PinnoptError
from ..losses import ResidualTerm
from ..losses.hooks import TrainingHook, TrainingUpdate, TrainingView, merge
from .base import Assembly, Strategy, check_int, steps_before_last_phase


@final
@dataclass(frozen=True)
class Curriculum(Strategy):
    """A schedule for one constant of the problem (``curriculum=po.optim.Curriculum(beta, 1, 30)``).

    Args:
        symbol: the constant (a sympy symbol or its name) declared in ``Problem(constants=)``.
        start: its value at the start of training.
        end: its final value (default: the declared one).
        steps: steps over which it rises (default: every phase but the last; half the steps
            of a single phase).
        stages: number of levels from ``start`` to ``end`` inclusive, each held for an equal
            share of ``steps`` before ``end`` (None: a continuous rise, updated every ``every``).
        spacing: ``"linear"`` or ``"geometric"`` levels.
        every: steps between updates of a continuous rise.
    """

    kind: ClassVar[str] = "Curriculum"
    option: ClassVar[str] = "curriculum"
    symbol: Any
    start: float
    end: float | None = None
    steps: int | None = None
    stages: int | None = 10
    spacing: str = "linear"
    every: int = 10

    def __post_init__(self) -> None:
        name = self.symbol.name if isinstance(self.symbol, sp.Symbol) else self.symbol
        if not isinstance(name, str) or not name:
            raise ConfigError(f"Curriculum(symbol={self.symbol!r}): expected a sympy Symbol or its name")
        object.__setattr__(self, "symbol", name)
        for key in ("start", "end"):
            v = getattr(self, key)
            if v is None and key == "end":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"Curriculum({key}={v!r}): expected a finite number")
            object.__setattr__(self, key, float(v))
        if self.steps is not None:
            check_int(self.kind, "steps", self.steps)
        if self.stages is not None:
            check_int(self.kind, "stages", self.stages, 2)
        if self.spacing not in ("linear", "geometric"):
            raise ConfigError(f"Curriculum(spacing={self.spacing!r}): expected 'linear' or 'geometric'")
        check_int(self.kind, "every", self.every)

    def target(self, declared: float) -> float:
        """The final value (``end``, else the declared one)."""
        return self.end if self.end is not None else declared

    def check_values(self, end: float) -> None:
        """Raise ConfigError when a geometric schedule would cross zero."""
        if self.spacing == "geometric" and not (self.start * end > 0):
            raise ConfigError(
                f"Curriculum(spacing='geometric'): start {self.start:g} and end {end:g} need the same sign"
            )

    def value(self, step: int, steps: int, end: float) -> float:
        """The scheduled value after ``step`` steps of a rise over ``steps`` steps."""
        if step >= steps:
            return end
        frac = step / steps
        if self.stages is not None:
            frac = math.floor(frac * (self.stages - 1)) / (self.stages - 1)
        if self.spacing == "geometric":
            return self.start * (end / self.start) ** frac
        return self.start + (end - self.start) * frac

    def prepare(self, assembly: Assembly) -> TrainingHook:
        problem = assembly.problem
        ctx = problem.context
        by_name = {str(s): s for s in ctx.constants}
        if self.symbol not in by_name:
            raise ConfigError(
                f"Curriculum: {self.symbol!r} is not a constant of the problem (its constants are "
                f"{sorted(by_name)}); declare it with Problem(constants={{{self.symbol}: value}})"
            )
        sym = by_name[self.symbol]
        end = self.target(ctx.constants[sym])
        self.check_values(end)
        twin = _with_coefficient(problem, sym, end)
        compiled = {spec.name: spec.expr for spec in twin.terms}
        changed = []
        for i, term in enumerate(assembly.terms):
            expr = compiled.get(term.name)
            if expr is None or self.symbol not in expr.scalars:
                continue
            if type(term) is not ResidualTerm:
                raise ConfigError(
                    f"Curriculum: term {term.name!r} is a {type(term).__name__}; only plain residual terms "
                    "can take the coefficient (pass the curriculum before other strategies)"
                )
            assembly.terms[i] = ResidualTerm(
                term.name,
                term.point_set,
                expr,
                term.weight,
                target=term.target,
                point_weights=term.point_weights,
            )
            changed.append(term.name)
        if not changed:
            raise ConfigError(f"Curriculum: no equation or condition uses {self.symbol!r}")
        value = torch.tensor(self.start, dtype=assembly.dtype, device=assembly.device)
        assembly.scalars[self.symbol] = value
        return CurriculumHook(self, value, end)

    def config(self) -> dict[str, Any]:
        out = super().config()
        out["symbol"] = self.symbol
        return out


def _with_coefficient(problem: Problem, sym: sp.Symbol, value: float) -> Problem:
    """The problem declared again with ``sym`` as a (never trained) coefficient instead of a constant.

    Its terms have the same names and read ``sym`` by name; only their compiled expressions
    are used (the coefficient's value comes from the objective's scalars).
    """
    constants = {s: v for s, v in problem.constants.items() if s != sym}
    parameters = (*problem.parameters, Parameter(sym, init=value, exact=value))
    try:
        return dataclasses.replace(problem, constants=constants, parameters=parameters)
    except PinnoptError as exc:
        raise ConfigError(
            f"Curriculum: cannot declare the problem with {sym} as a coefficient ({exc})"
        ) from exc


class CurriculumHook(TrainingHook):
    """Sets the curriculum coefficient from its schedule after each step."""

    name = "curriculum"

    def __init__(self, spec: Curriculum, value: torch.Tensor, end: float) -> None:
        self.spec = spec
        self.value = value
        self.end = end
        self.steps = spec.steps
        self.current = spec.start

    def _set(self, view: TrainingView, step: int) -> TrainingUpdate | None:
        steps = self.steps if self.steps is not None else steps_before_last_phase(view)
        v = self.spec.value(step, steps, self.end)
        if v == self.current:
            return None
        continuous = self.spec.stages is None
        if continuous and step < steps and step % self.spec.every != 0:
            return None
        self.current = v
        with torch.no_grad():
            self.value.fill_(v)
        records = [("curriculum", step, self.value.clone(), [self.spec.symbol])]
        return TrainingUpdate(records=records, objective_changed=True)

    def on_train_start(self, view: TrainingView) -> TrainingUpdate | None:
        self.current = self.spec.start
        with torch.no_grad():
            self.value.fill_(self.spec.start)
        first = TrainingUpdate(records=[("curriculum", view.step, self.value.clone(), [self.spec.symbol])])
        return merge(first, self._set(view, view.step))

    def on_step(self, view: TrainingView) -> TrainingUpdate | None:
        return self._set(view, view.step)

    def state_dict(self) -> dict[str, Any]:
        return {"current": self.current}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current = float(state["current"])
        with torch.no_grad():
            self.value.fill_(self.current)
