"""The strategy family: frozen specs that rewrite the objective before training and add a hook.

A :class:`Strategy` is a keyword option of :func:`pinnopt.solve` (``balance=``, ``causal=``,
``curriculum=``). Before training, :func:`apply_strategies` hands every strategy an
:class:`Assembly` (the problem, the loss terms, the point sets and the objective's extra
scalars); a strategy may replace terms by wrappers (causal slab weights, per-point
self-adaptive weights), add per-point data or scalars, and returns a
:class:`~pinnopt.train.TrainingHook` that updates its state during training. The hooks'
state and the objective's state (weights, wrapped terms, scalars) are checkpointed by the
trainer, so a resumed run continues exactly.

Strategies that change the objective say so in the update their hook returns
(``TrainingUpdate(objective_changed=True)``, see :mod:`pinnopt.losses.hooks`):
during an L-BFGS phase that makes L-BFGS re-evaluate the loss and drop its curvature
memory (which describe the old objective). By default they act only in gradient phases and
hold their values during L-BFGS (``lbfgs=True`` lets them act there too, at the price of
that reset at every update).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch

from ..declare.problem import Problem
from ..errors import ConfigError
from ..losses import PointSet, Term
from ..losses.hooks import TrainingHook, TrainingView


@dataclass
class Assembly:
    """What strategies may change before training (mutable, used once)."""

    problem: Problem
    terms: list[Term]
    points: dict[str, PointSet]
    dtype: torch.dtype
    device: torch.device
    scalars: dict[str, torch.Tensor] = field(default_factory=dict)

    def term_kinds(self) -> dict[str, str]:
        """``{term name: "equation" | "condition"}`` for the problem's own terms."""
        return {spec.name: spec.kind for spec in self.problem.terms}

    def index(self, name: str) -> int:
        """Position of term ``name`` in :attr:`terms`."""
        for i, t in enumerate(self.terms):
            if t.name == name:
                return i
        raise ConfigError(f"no loss term named {name!r}; the terms are {[t.name for t in self.terms]}")


class Strategy(abc.ABC):
    """Base of training strategies (frozen dataclasses; one run's state lives in their hook)."""

    kind: ClassVar[str]
    option: ClassVar[str]
    """The keyword of :func:`pinnopt.solve` that takes this strategy."""

    @abc.abstractmethod
    def prepare(self, assembly: Assembly) -> TrainingHook | None:
        """Rewrite ``assembly`` as needed and return the hook that drives the strategy."""

    def config(self) -> dict[str, Any]:
        """A JSON-ready description (recorded in ``Result.config["strategies"]``)."""
        out: dict[str, Any] = {"kind": self.kind}
        for k, v in asdict(self).items():  # type: ignore[call-overload]
            out[k] = _jsonable(v)
        return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def apply_strategies(
    strategies: Sequence[Strategy],
    problem: Problem,
    terms: Sequence[Term],
    points: dict[str, PointSet],
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[Assembly, list[TrainingHook]]:
    """Let each strategy rewrite the assembly (terms, points, scalars) in order; return the
    rewritten assembly and the strategies' hooks. The compile stage builds the objective."""
    asm = Assembly(problem, list(terms), dict(points), dtype, device)
    hooks = []
    for s in strategies:
        hook = s.prepare(asm)
        if hook is not None:
            hooks.append(hook)
    return asm, hooks


# -- helpers shared by the strategies ----------------------------------------------------------
def check_int(owner: str, name: str, value: Any, low: int = 1) -> None:
    """Raise ConfigError unless ``value`` is an int >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{owner}({name}={value!r}): expected an int >= {low}")


def check_float(owner: str, name: str, value: Any, low: float, high: float, *, closed: bool = False) -> None:
    """Raise ConfigError unless ``low < value < high`` (``closed``: ``<=`` at both ends)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and ((low <= value <= high) if closed else (low < value < high))
    if not ok:
        brackets = "[]" if closed else "()"
        raise ConfigError(
            f"{owner}({name}={value!r}): expected a number in {brackets[0]}{low:g}, {high:g}{brackets[1]}"
        )


def term_names(owner: str, terms: Any) -> tuple[str, ...] | None:
    """Normalize a ``terms=`` option: None, a name, or names."""
    if terms is None:
        return None
    items = (terms,) if isinstance(terms, str) else tuple(terms)
    if not items or not all(isinstance(t, str) and t for t in items) or len(set(items)) != len(items):
        raise ConfigError(f"{owner}(terms={terms!r}): expected distinct term names or None")
    return items


def steps_before_last_phase(view: TrainingView) -> int:
    """Steps of every phase but the last (half the steps when there is one phase)."""
    phases = view.phases
    if len(phases) == 1:
        return max(1, int(phases[0].steps or 0) // 2)
    return sum(int(p.steps or 0) for p in phases[:-1])
