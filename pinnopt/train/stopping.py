"""Stopping criteria: small stateful objects, combinable with ``|`` (any) and ``&`` (all).

    stop = (po.stop.CostThreshold(1e-6) | po.stop.ConvergenceThreshold(1e-9)) & po.stop.MaxSteps(1000)

The trainer shows every criterion the epochs completed since its previous check point, in
order (an epoch is one step for full-batch phases and one pass over the largest point set
for mini-batch phases), plus a *live* observation at the check point itself, where the
current model can be inspected. Check points come every ``log_every`` steps, at every epoch
end of mini-batch phases, at phase ends, and whenever a criterion asks for one through
:meth:`Criterion.due` (``MaxSteps`` at its limit, ``TimeLimit`` when time is up, metrics every
``every`` steps); there is no host synchronization between check points. A criterion's
status is its latest verdict; ``a & b`` fires at the first observation where both hold.

The cost of an epoch is the mean of its step losses (the loss of the step for full batch).
Criteria carry state (moving windows, patience, the best model) that the trainer resets at
the start of a run and checkpoints through ``state_dict``.
"""

from __future__ import annotations

import abc
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .stop import StopReason
from .trees import clone_tree

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem

log = logging.getLogger("pinnopt.train")


@dataclass(frozen=True)
class Observation:
    """What a criterion sees: one completed epoch, or the live state at a check point.

    Attributes:
        step: the global step at the end of the epoch (or of the check point).
        epoch: the number of epochs completed so far.
        cost: the epoch's cost (mean step loss), or None at a check point inside an epoch.
        elapsed: wall time in seconds since training started (continued across resumes).
        live: True when the trainer's current model is the model after ``step``.
        view: the run's read-only :class:`~pinnopt.losses.hooks.TrainingView` (live
            observations only).
    """

    step: int
    epoch: int
    cost: float | None
    elapsed: float
    live: bool
    view: Any = None


def check_number(owner: str, name: str, value: Any, *, positive: bool = True) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0) or (not positive and value < 0):
        want = "a positive finite number" if positive else "a finite number >= 0"
        raise ConfigError(f"{owner}({name}={value!r}): expected {want}")
    return float(value)


def check_count(owner: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}({name}={value!r}): expected an int >= {minimum}")
    return value


class Criterion(abc.ABC):
    """Base class of stopping criteria."""

    def __or__(self, other: Criterion) -> AnyOf:
        return AnyOf(self, other)

    def __and__(self, other: Criterion) -> AllOf:
        return AllOf(self, other)

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget all training state (called when a run or phase starts)."""

    def due(self, step: int, elapsed: float) -> bool:
        """Host-only test, once per step: should the trainer make a check point now?"""
        return False

    @abc.abstractmethod
    def observe(self, obs: Observation) -> bool:
        """Update the state with one observation; return whether the criterion holds now."""

    @abc.abstractmethod
    def fired(self) -> list[Leaf]:
        """The leaf criteria behind the latest True of :meth:`observe`."""

    def bind(self, problem: Problem) -> None:  # noqa: B027 - optional hook
        """Take what the criterion needs from the problem (e.g. its exact solution)."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Training state (tensors, numbers, strings, lists, dicts)."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""


class Leaf(Criterion):
    """A single criterion with a :class:`StopReason`; its state is one dict."""

    reason: StopReason

    def __init__(self) -> None:
        self._state: dict[str, Any] = self._fresh()

    def _fresh(self) -> dict[str, Any]:
        return {"met": False, "detail": ""}

    def reset(self) -> None:
        self._state = self._fresh()

    def fired(self) -> list[Leaf]:
        return [self] if self._state["met"] else []

    @property
    def detail(self) -> str:
        """Why the criterion holds (empty when it does not)."""
        return str(self._state["detail"]) if self._state["met"] else ""

    def on_stop(self, view: Any) -> Any:
        """Called when training stops because of this criterion, with the run's read-only
        view; may return a :class:`~pinnopt.losses.hooks.TrainingUpdate` (default: None)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return clone_tree(self._state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        fresh = self._fresh()
        fresh.update(clone_tree(dict(state)))
        self._state = fresh


class _Combination(Criterion):
    op = ""

    def __init__(self, *children: Criterion) -> None:
        flat: list[Criterion] = []
        for c in children:
            if not isinstance(c, Criterion):
                raise ConfigError(f"cannot combine {c!r} with stopping criteria; expected a po criterion")
            flat.extend(c.children if type(c) is type(self) else [c])  # type: ignore[attr-defined]
        self.children: tuple[Criterion, ...] = tuple(flat)
        self._last: list[Criterion] = []

    def reset(self) -> None:
        self._last = []
        for c in self.children:
            c.reset()

    def due(self, step: int, elapsed: float) -> bool:
        return any(c.due(step, elapsed) for c in self.children)

    def fired(self) -> list[Leaf]:
        return [leaf for c in self._last for leaf in c.fired()]

    def bind(self, problem: Problem) -> None:
        for c in self.children:
            c.bind(problem)

    def state_dict(self) -> dict[str, Any]:
        return {"children": [c.state_dict() for c in self.children]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        kids = state["children"]
        if len(kids) != len(self.children):
            raise ConfigError("the saved stopping state does not match this combination of criteria")
        for c, s in zip(self.children, kids, strict=True):
            c.load_state_dict(s)

    def __repr__(self) -> str:
        return "(" + f" {self.op} ".join(repr(c) for c in self.children) + ")"


class AnyOf(_Combination):
    """Holds when any child holds (``a | b``)."""

    op = "|"

    def observe(self, obs: Observation) -> bool:
        results = [c.observe(obs) for c in self.children]  # every child sees every observation
        self._last = [c for c, r in zip(self.children, results, strict=True) if r]
        return bool(self._last)


class AllOf(_Combination):
    """Holds when every child holds at the same observation (``a & b``)."""

    op = "&"

    def observe(self, obs: Observation) -> bool:
        results = [c.observe(obs) for c in self.children]
        self._last = list(self.children) if all(results) else []
        return bool(self._last)


class CostThreshold(Leaf):
    """Holds when an epoch's cost is at most ``threshold``."""

    reason = StopReason.COST_THRESHOLD

    def __init__(self, threshold: float) -> None:
        self.threshold = check_number("CostThreshold", "threshold", threshold)
        super().__init__()

    def observe(self, obs: Observation) -> bool:
        if obs.cost is not None:
            met = obs.cost <= self.threshold
            self._state["met"] = met
            self._state["detail"] = (
                f"epoch {obs.epoch} cost {obs.cost:.4e} <= {self.threshold:g}" if met else ""
            )
        return bool(self._state["met"])

    def __repr__(self) -> str:
        return f"CostThreshold({self.threshold:g})"


class ConvergenceThreshold(Leaf):
    """Holds when ``|A_e - A_(e-1)| <= tol``, A_e the mean cost of the last ``window`` epochs.

    With ``relative=True`` the bound is ``tol * |A_(e-1)|``. It needs ``window + 1`` epochs.
    """

    reason = StopReason.CONVERGED

    def __init__(self, tol: float, window: int = 5, relative: bool = False) -> None:
        self.tol = check_number("ConvergenceThreshold", "tol", tol, positive=False)
        self.window = check_count("ConvergenceThreshold", "window", window)
        if not isinstance(relative, bool):
            raise ConfigError(f"ConvergenceThreshold(relative={relative!r}): expected True or False")
        self.relative = relative
        super().__init__()

    def _fresh(self) -> dict[str, Any]:
        return {"met": False, "detail": "", "costs": [], "previous": None}

    def observe(self, obs: Observation) -> bool:
        if obs.cost is None:
            return bool(self._state["met"])
        s = self._state
        s["costs"] = [*s["costs"], float(obs.cost)][-self.window :]
        s["met"] = False
        if len(s["costs"]) == self.window:
            avg = math.fsum(s["costs"]) / self.window
            prev = s["previous"]
            if prev is not None:
                change = abs(avg - prev)
                bound = self.tol * abs(prev) if self.relative else self.tol
                s["met"] = change <= bound
                if s["met"]:
                    kind = "relative " if self.relative else ""
                    s["detail"] = (
                        f"moving average over {self.window} epochs changed by {change:.3e} <= "
                        f"{kind}tol {self.tol:g} (epoch {obs.epoch})"
                    )
            s["previous"] = avg
        return bool(s["met"])

    def __repr__(self) -> str:
        rel = ", relative=True" if self.relative else ""
        return f"ConvergenceThreshold({self.tol:g}, window={self.window}{rel})"


class MaxSteps(Leaf):
    """Holds once the global step count reaches ``steps`` (an iteration limit)."""

    reason = StopReason.MAX_STEPS

    def __init__(self, steps: int) -> None:
        self.steps = check_count("MaxSteps", "steps", steps)
        super().__init__()

    def due(self, step: int, elapsed: float) -> bool:
        return step == self.steps

    def observe(self, obs: Observation) -> bool:
        if obs.step >= self.steps:
            self._state["met"] = True
            self._state["detail"] = f"the step limit {self.steps} reached"
        return bool(self._state["met"])

    def __repr__(self) -> str:
        return f"MaxSteps({self.steps})"


class TimeLimit(Leaf):
    """Holds once ``seconds`` of wall time have passed (checked on the host every step)."""

    reason = StopReason.TIME_LIMIT

    def __init__(self, seconds: float) -> None:
        self.seconds = check_number("TimeLimit", "seconds", seconds)
        super().__init__()

    def due(self, step: int, elapsed: float) -> bool:
        return elapsed >= self.seconds and not self._state["met"]

    def observe(self, obs: Observation) -> bool:
        if obs.elapsed >= self.seconds:
            self._state["met"] = True
            self._state["detail"] = f"{obs.elapsed:.1f} s >= {self.seconds:g} s"
        return bool(self._state["met"])

    def __repr__(self) -> str:
        return f"TimeLimit({self.seconds:g})"


def describe_stop(leaves: Sequence[Leaf], step: int | None = None) -> str:
    """One line naming the criteria that fired and why, and the step training stopped at.

    Criteria are checked at check points (every ``log_every`` steps, or when one asks), so
    an epoch's cost that met a threshold may belong to an epoch that ended a few steps
    before the check point: the run stops at the check point, and ``step`` (the one step
    count of the run, ``result.steps``) is that check point.
    """
    text = "; ".join(f"{leaf!r}: {leaf.detail}" for leaf in leaves)
    return text if step is None else f"{text}; stopped at step {step}"
