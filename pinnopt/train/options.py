"""Checks of the trainer's options (clear errors for values of the wrong kind)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..losses.hooks import TrainingHook
from .batching import Batching
from .checkpoint import Checkpoint
from .guard import DivergenceGuard
from .phases import Phase
from .stopping import Criterion


def check_options(
    phases: Sequence[Phase],
    batch: Any,
    stop: Any,
    guard: Any,
    checkpoint: Any,
    hooks: Sequence[Any],
) -> None:
    """Refuse options of the wrong kind, naming the option and what was expected."""
    if not phases or not all(isinstance(p, Phase) for p in phases):
        raise ConfigError(
            f"phases must be a non-empty list of po.optim.Adam/po.optim.LBFGS/..., got {phases!r}"
        )
    if batch is not None and not isinstance(batch, Batching):
        raise ConfigError(f"batch={batch!r}: expected po.optim.FullBatch() or po.optim.MiniBatch(size=...)")
    if stop is not None and not isinstance(stop, Criterion):
        raise ConfigError(
            f"stop={stop!r}: expected a criterion such as "
            "po.stop.CostThreshold(1e-6) | po.stop.MaxSteps(1000)"
        )
    if guard is not None and not isinstance(guard, DivergenceGuard):
        raise ConfigError(f"guard={guard!r}: expected po.optim.DivergenceGuard(...)")
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        raise ConfigError(f"checkpoint={checkpoint!r}: expected po.callbacks.Checkpoint(dir, every=...)")
    for h in hooks:
        if not isinstance(h, TrainingHook):
            raise ConfigError(f"hooks: {h!r} is not a po TrainingHook")
