"""Learning-rate schedules: small frozen objects attached to a gradient phase.

A schedule turns the phase-local step ``t`` (0-based) and the phase length ``total`` into a
multiplier of the phase's learning rate. Only :class:`ReduceOnPlateau` has training
state; the trainer keeps that state (a plain dict) next to the optimizer and checkpoints it,
so the schedule objects themselves stay immutable and reusable.

    po.optim.Adam(steps=5000, lr=1e-3, schedule=po.optim.Warmup(200, then=po.optim.CosineDecay()))
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError


def _positive_int(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{owner}({name}={value!r}): expected an int >= 1")


def _flag(owner: str, name: str, value: Any) -> None:
    """Refuse anything but ``True`` / ``False`` (a string such as ``"no"`` is truthy)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}({name}={value!r}): expected True or False")


def _in_range(owner: str, name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        side = "(" if lo_open else "["
        raise ConfigError(f"{owner}({name}={value!r}): expected a number in {side}{lo}, {hi}]")


class Schedule(abc.ABC):
    """Base class of learning-rate schedules."""

    @abc.abstractmethod
    def multiplier(self, t: int, total: int, state: dict[str, Any]) -> float:
        """The learning-rate factor at phase-local step ``t`` of a phase of ``total`` steps."""

    def init_state(self) -> dict[str, Any]:
        """Fresh training state (empty for stateless schedules)."""
        return {}

    def observe(self, state: dict[str, Any], cost: float) -> None:  # noqa: B027 - optional hook
        """Called with the cost of every completed epoch, in order (plateau detection)."""


@dataclass(frozen=True)
class StepDecay(Schedule):
    """Multiply the learning rate by ``gamma`` every ``every`` steps."""

    every: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive_int("StepDecay", "every", self.every)
        _in_range("StepDecay", "gamma", self.gamma, 0.0, 1.0, lo_open=True)

    def multiplier(self, t: int, total: int, state: dict[str, Any]) -> float:
        return self.gamma ** (t // self.every)


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """``lr * rate ** (t / every)`` (``staircase=True``: ``rate ** floor(t / every)``)."""

    rate: float
    every: int = 1
    staircase: bool = False

    def __post_init__(self) -> None:
        _in_range("ExponentialDecay", "rate", self.rate, 0.0, 1.0, lo_open=True)
        _positive_int("ExponentialDecay", "every", self.every)
        _flag("ExponentialDecay", "staircase", self.staircase)

    def multiplier(self, t: int, total: int, state: dict[str, Any]) -> float:
        e = t // self.every if self.staircase else t / self.every
        return self.rate**e


@dataclass(frozen=True)
class CosineDecay(Schedule):
    """Half a cosine from 1 to ``min_factor`` over ``period`` steps (default: the whole phase)."""

    min_factor: float = 0.0
    period: int | None = None

    def __post_init__(self) -> None:
        _in_range("CosineDecay", "min_factor", self.min_factor, 0.0, 1.0)
        if self.period is not None:
            _positive_int("CosineDecay", "period", self.period)

    def multiplier(self, t: int, total: int, state: dict[str, Any]) -> float:
        period = self.period or max(total, 1)
        frac = min(t, period) / period
        return self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + math.cos(math.pi * frac))


@dataclass(frozen=True)
class Warmup(Schedule):
    """Linear warm-up from ``start_factor`` to 1 over ``steps`` steps, then ``then`` (or constant).

    The schedule ``then`` sees its own step count, starting at 0 when the warm-up ends.
    """

    steps: int
    start_factor: float = 0.0
    then: Schedule | None = None

    def __post_init__(self) -> None:
        _positive_int("Warmup", "steps", self.steps)
        _in_range("Warmup", "start_factor", self.start_factor, 0.0, 1.0)
        if self.then is not None and not isinstance(self.then, Schedule):
            raise ConfigError(
                f"Warmup(then={self.then!r}): expected a schedule such as po.optim.CosineDecay()"
            )

    def multiplier(self, t: int, total: int, state: dict[str, Any]) -> float:
        if t < self.steps:
            return self.start_factor + (1.0 - self.start_factor) * (t + 1) / self.steps
        if self.then is None:
            return 1.0
        return self.then.multiplier(t - self.steps, max(total - self.steps, 1), state)

    def init_state(self) -> dict[str, Any]:
        return self.then.init_state() if self.then is not None else {}

    def observe(self, state: dict[str, Any], cost: float) -> None:
        if self.then is not None:
            self.then.observe(state, cost)


@dataclass(frozen=True)
class ReduceOnPlateau(Schedule):
    """Multiply the learning rate by ``factor`` when the epoch cost stops improving.

    An epoch improves on the best cost so far when it is below ``best * (1 - threshold)``
    (``relative=True``) or ``best - threshold``. After ``patience`` epochs without
    improvement the factor is applied, then ``cooldown`` epochs pass before counting again;
    the total factor never goes below ``min_factor``. Epoch costs reach the schedule at the
    trainer's check points (every ``log_every`` steps and at epoch ends of mini-batch phases).
    """

    factor: float = 0.5
    patience: int = 10
    threshold: float = 1e-4
    relative: bool = True
    cooldown: int = 0
    min_factor: float = 1e-6

    def __post_init__(self) -> None:
        _in_range("ReduceOnPlateau", "factor", self.factor, 0.0, 1.0, lo_open=True)
        if self.factor == 1.0:
            raise ConfigError("ReduceOnPlateau(factor=1.0): expected a factor below 1")
        _positive_int("ReduceOnPlateau", "patience", self.patience)
        _in_range("ReduceOnPlateau", "threshold", self.threshold, 0.0, math.inf)
        _flag("ReduceOnPlateau", "relative", self.relative)
        if isinstance(self.cooldown, bool) or not isinstance(self.cooldown, int) or self.cooldown < 0:
            raise ConfigError(f"ReduceOnPlateau(cooldown={self.cooldown!r}): expected an int >= 0")
        _in_range("ReduceOnPlateau", "min_factor", self.min_factor, 0.0, 1.0)

    def init_state(self) -> dict[str, Any]:
        return {"best": math.inf, "bad": 0, "cooldown": 0, "scale": 1.0, "reductions": 0}

    def multiplier(self, t: int, total: int, state: dict[str, Any]) -> float:
        return float(state.get("scale", 1.0))

    def observe(self, state: dict[str, Any], cost: float) -> None:
        if not math.isfinite(cost):
            return
        best = state["best"]
        bar = best * (1.0 - self.threshold) if self.relative else best - self.threshold
        if cost < bar or best == math.inf:
            state["best"] = cost
            state["bad"] = 0
        else:
            state["bad"] += 1
        if state["cooldown"] > 0:
            state["cooldown"] -= 1
            state["bad"] = 0
        if state["bad"] > self.patience - 1:
            new = max(state["scale"] * self.factor, self.min_factor)
            if new < state["scale"]:
                state["reductions"] += 1
            state["scale"] = new
            state["cooldown"] = self.cooldown
            state["bad"] = 0
