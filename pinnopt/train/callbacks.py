"""Callbacks: user code run at step, epoch, phase and run ends.

Callbacks follow the training protocol of :mod:`pinnopt.losses.hooks`: each receives a
read-only :class:`~pinnopt.losses.hooks.TrainingView` of the run (never the trainer) and
may return a :class:`~pinnopt.losses.hooks.TrainingUpdate` that the trainer applies.

A plain function ``cb(view, step)`` is a step callback. Subclass :class:`Callback` to be
called at epoch ends too (an epoch is one step for full-batch phases, one pass over the
largest point set for mini-batch phases). Callbacks run after the step's bookkeeping, at a
step boundary: raising ``KeyboardInterrupt`` there stops training like Ctrl-C does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..losses.hooks import TrainingUpdate, TrainingView

StepCallback = Callable[[TrainingView, int], TrainingUpdate | None]


class Callback:
    """Base class with no-op hooks; override the ones you need (each may return an update)."""

    def on_step_end(self, view: TrainingView, step: int) -> TrainingUpdate | None:
        """After global step ``step`` (1-based)."""
        return None

    def on_epoch_end(self, view: TrainingView, epoch: int) -> TrainingUpdate | None:
        """After epoch ``epoch`` (1-based, global across phases)."""
        return None

    def on_phase_end(self, view: TrainingView, phase: int, outcome: Any) -> TrainingUpdate | None:
        """After phase ``phase`` ended with ``outcome`` (a :class:`~pinnopt.train.outcome.PhaseOutcome`)."""
        return None

    def on_train_end(self, view: TrainingView, outcome: Any) -> TrainingUpdate | None:
        """After training ended (a :class:`~pinnopt.train.outcome.TrainOutcome`)."""
        return None


class FunctionCallback(Callback):
    """Wraps a plain ``cb(view, step)`` function as a step callback."""

    def __init__(self, fn: StepCallback) -> None:
        self.fn = fn

    def on_step_end(self, view: TrainingView, step: int) -> TrainingUpdate | None:
        return self.fn(view, step)

    def __repr__(self) -> str:
        return f"FunctionCallback({getattr(self.fn, '__name__', self.fn)!r})"


def as_callbacks(items: Any) -> list[Callback]:
    """Normalize a sequence of functions and :class:`Callback` objects."""
    out: list[Callback] = []
    for item in items or ():
        if isinstance(item, Callback):
            out.append(item)
        elif callable(item):
            out.append(FunctionCallback(item))
        else:
            raise ConfigError(
                f"callbacks: {item!r} is neither a po.callbacks.Callback nor a function cb(view, step)"
            )
    return out
