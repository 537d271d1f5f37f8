"""Training hooks: objects with training state that the trainer updates between steps.

Adaptive samplers (resampling, RAR/RAD), barrier-coefficient continuation, loss-weight
balancing and similar strategies are hooks. The trainer calls :meth:`TrainingHook.on_step`
after every optimizer step and checkpoints each hook through its ``state_dict``. A hook may
replace entries of ``trainer.points`` (new collocation points) or rewrite
``trainer.objective.weights``; it never reaches into the optimizer. Replace point sets
rather than writing into their tensors: the divergence guard's snapshots keep references
to the point sets of the last good step. A hook that draws random numbers should use the
global torch/NumPy/Python generators or keep its generator state in ``state_dict``, so
that a resumed run draws the same numbers.

A hook that changes the objective (loss weights, a curriculum coefficient, causal
weights) calls ``trainer.objective_changed()`` afterwards: during an L-BFGS phase this
makes L-BFGS re-evaluate the loss and drop its curvature memory, which describe the old
objective (in gradient phases it does nothing).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..train.trainer import Trainer


class TrainingHook(abc.ABC):
    """Base class of stateful strategies updated by the trainer."""

    name: str = "hook"

    @abc.abstractmethod
    def on_step(self, trainer: Trainer, step: int) -> None:
        """Called after optimizer step ``step`` (1-based, global across phases)."""

    def on_train_start(self, trainer: Trainer) -> None:  # noqa: B027 - optional hook
        """Called once before the first phase (not again when a run resumes from a checkpoint)."""

    def on_phase_start(self, trainer: Trainer, index: int) -> None:  # noqa: B027 - optional hook
        """Called when phase ``index`` starts afresh, before its first step (not on a resume
        inside the phase)."""

    def state_dict(self) -> dict[str, Any]:
        """Training state to checkpoint (tensors, numbers, strings, lists, dicts)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore what :meth:`state_dict` saved."""
