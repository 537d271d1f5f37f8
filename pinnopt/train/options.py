"""Checks of the trainer's options (clear errors for values of the wrong kind)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..losses.hooks import TrainingHook
from .batching import Batching
from .checkpoint import Checkpoint
from .guard import DivergenceGuard
from .phases import LBFGS, GradientPhase, Phase
from .second_order import SSBFGS, LevenbergMarquardt
from .stopping import Criterion

FULL_BATCH_PHASES = (LBFGS, LevenbergMarquardt, SSBFGS)
"""Phases that always use the full batch (they refuse a ``batch=`` of their own)."""


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
    batch_users(batch, phases)
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


def phase_label(index: int, phase: Phase) -> str:
    """How a phase is named in notes and messages: ``phase 1 (LBFGS)``."""
    return f"phase {index} ({phase.name})"


def batch_users(batch: Any, phases: Sequence[Phase]) -> tuple[list[str], list[str]] | None:
    """The phases that use the run's default batching ``batch`` and those that do not (labels);
    None when ``batch`` is None or the plain full batch.

    ``batch`` is the batching of the gradient phases without a ``batch=`` of their own;
    L-BFGS, Levenberg-Marquardt / Gauss-Newton and the self-scaled quasi-Newton phases always
    use the full batch.

    Raises:
        ConfigError: naming ``batch=`` and why each phase does not use it, when none does.
    """
    if not isinstance(batch, Batching) or batch.trivial:
        return None
    used, unused, why = [], [], []
    for i, p in enumerate(phases):
        label = phase_label(i, p)
        if isinstance(p, FULL_BATCH_PHASES):
            unused.append(label)
            why.append(f"{label} always uses the full batch")
        elif isinstance(p, GradientPhase) and p.batch is not None:
            unused.append(label)
            why.append(f"{label} has its own batch={p.batch!r}")
        else:
            used.append(label)
    if not used:
        raise ConfigError(
            f"batch={batch!r}: no phase of this run uses it ({'; '.join(why)}); it is the batching "
            "of the gradient phases (po.optim.Adam, SGD, ...) without a batch= of their own: "
            "give it to such a phase, e.g. po.optim.Adam(1000, batch=...), or leave it out"
        )
    return used, unused
