"""Callbacks: user code run at step, epoch, phase and run ends.

A plain function ``cb(trainer, step)`` is a step callback. Subclass :class:`Callback` to be
called at epoch ends too (an epoch is one step for full-batch phases, one pass over the
largest point set for mini-batch phases). Callbacks run after the step's bookkeeping, at a
step boundary: raising ``KeyboardInterrupt`` there stops training like Ctrl-C does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

StepCallback = Callable[["Trainer", int], None]


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        """After global step ``step`` (1-based)."""

    def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
        """After epoch ``epoch`` (1-based, global across phases)."""

    def on_phase_end(self, trainer: Trainer, phase: int, outcome: Any) -> None:
        """After phase ``phase`` ended with ``outcome`` (a :class:`PhaseOutcome`)."""

    def on_train_end(self, trainer: Trainer, outcome: Any) -> None:
        """After training ended (a :class:`TrainOutcome`)."""


class FunctionCallback(Callback):
    """Wraps a plain ``cb(trainer, step)`` function as a step callback."""

    def __init__(self, fn: StepCallback) -> None:
        self.fn = fn

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        self.fn(trainer, step)

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
                f"callbacks: {item!r} is neither a po.callbacks.Callback nor a function cb(trainer, step)"
            )
    return out
