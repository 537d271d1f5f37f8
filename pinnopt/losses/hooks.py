"""The one protocol for code that reacts to training: a read-only view in, an update out.

Adaptive samplers (resampling, RAR/RAD), loss balancing, causal weights, curricula,
barrier continuation, augmented-Lagrangian updates, parameter traces and user callbacks all
follow it. The trainer hands each a :class:`TrainingView` (where the run stands: step,
epoch, phase, the last step's losses, the point sets, and read-only computations such as
per-term gradients); the hook may return a :class:`TrainingUpdate` (new point sets, new
term weights, new values of trainable scalars or model state, history records, "the
objective changed"), which the trainer applies before calling the next hook. No hook
receives the trainer or writes into it.

A hook keeps its own state and checkpoints it through ``state_dict`` /
``load_state_dict``, so that a resumed run continues exactly. A hook that draws random
numbers should use the global torch/NumPy/Python generators or keep its generator state in
``state_dict``. Strategies that own wrapper terms (causal slabs, self-adaptive weights,
barriers, equality multipliers, curriculum coefficients) update those terms' coefficients
themselves and say so with ``objective_changed=True``: during an L-BFGS phase this makes
L-BFGS re-evaluate the loss and drop its curvature memory, which describe the old
objective (in gradient phases it does nothing).

The view lives below the compile layer (the trainer builds it), so strategies implement
the protocol without importing :mod:`pinnopt.train`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # pragma: no cover
    from .evaluation import Evaluation
    from .objective import Objective
    from .points import PointSet
    from .terms import Term


@dataclass(frozen=True)
class PhaseInfo:
    """One phase of the run, as hooks see it.

    Attributes:
        index: position in the run.
        name: the phase's class name (``"Adam"``, ``"LBFGS"``...).
        steps: its step budget as declared.
        quasi_newton: True for phases with curvature memory (L-BFGS).
    """

    index: int
    name: str
    steps: int
    quasi_newton: bool


@dataclass(frozen=True)
class TrainingUpdate:
    """What a hook asks the trainer to change (every field optional).

    Attributes:
        points: point sets to replace, by name (replace sets, never write into their tensors:
            the divergence guard's snapshots keep references to the old ones).
        weights: the objective's new weight vector (one entry per term).
        scalars: new values of trainable scalars, by name (``model.scalars()``).
        model_state: new values of model state entries (a partial ``state_dict``).
        records: history series ``(name, step, values, labels)`` to record.
        objective_changed: the objective changed (weights, a coefficient of a term).
    """

    points: Mapping[str, PointSet] = field(default_factory=dict)
    weights: torch.Tensor | None = None
    scalars: Mapping[str, torch.Tensor] = field(default_factory=dict)
    model_state: Mapping[str, torch.Tensor] = field(default_factory=dict)
    records: Sequence[tuple[str, int, torch.Tensor, Sequence[str]]] = ()
    objective_changed: bool = False


def merge(*updates: TrainingUpdate | None) -> TrainingUpdate | None:
    """One update doing what ``updates`` do, in order (None when all are None)."""
    found = [u for u in updates if u is not None]
    if len(found) <= 1:
        return found[0] if found else None
    weights = None
    for u in found:
        weights = u.weights if u.weights is not None else weights
    return TrainingUpdate(
        points={k: v for u in found for k, v in u.points.items()},
        weights=weights,
        scalars={k: v for u in found for k, v in u.scalars.items()},
        model_state={k: v for u in found for k, v in u.model_state.items()},
        records=[r for u in found for r in u.records],
        objective_changed=any(u.objective_changed for u in found),
    )


@dataclass(frozen=True)
class TrainingView:
    """A read-only view of a run (a new one at every call; assigning to it raises).

    Attributes:
        step: optimizer steps completed (global across phases, 1-based after a step).
        epoch: epochs completed.
        phase_index: the phase under way (``len(phases)`` after the last).
        phases: every phase of the run.
        log_every: the trainer's steps between check points.
        points: the point sets (a read-only mapping; replace sets through an update).
        terms: the objective's terms (read them; a strategy changes only its own terms).
        names: the terms' names.
        device: the training device.
        distributed: True in a data-parallel run.
        loss: the last step's weighted loss (a device tensor; None before the first step).
        losses: the last step's per-term losses (device tensor; None before the first step).
        history_rows: rows of the loss history already copied to the host (see
            :meth:`recorded_loss`).
        checked_rows: rows of the loss history covered by the last check point (it grows at
            each check point: loggers write then, see :meth:`recorded_row`).
    """

    step: int
    epoch: int
    phase_index: int
    phases: tuple[PhaseInfo, ...]
    log_every: int
    points: Mapping[str, PointSet]
    terms: tuple[Term, ...]
    names: tuple[str, ...]
    device: torch.device
    distributed: bool
    _objective: Objective = field(repr=False)
    _model: torch.nn.Module = field(repr=False)
    _params: tuple[torch.Tensor, ...] = field(repr=False)
    loss: torch.Tensor | None = None
    losses: torch.Tensor | None = None
    history_rows: int = 0
    _history: Any = field(default=None, repr=False)
    checked_rows: int = 0

    @property
    def phase(self) -> PhaseInfo | None:
        """The phase under way (None after the last)."""
        return self.phases[self.phase_index] if self.phase_index < len(self.phases) else None

    @property
    def in_quasi_newton(self) -> bool:
        """True during an L-BFGS phase (strategies usually hold the objective fixed there)."""
        phase = self.phase
        return phase is not None and phase.quasi_newton

    def recorded_loss(self) -> float | None:
        """The total loss of the last history row already on the host (no synchronization)."""
        if self._history is None or not self.history_rows:
            return None
        return float(self._history.loss[-1])

    def recorded_row(self, index: int | None = None) -> dict[str, Any] | None:
        """History row ``index`` (default: the last one already on the host; no
        synchronization), or None when it is not on the host: ``step``, ``phase`` (index),
        ``epoch``, ``lr``, ``time`` (seconds since the run started), ``loss`` (weighted
        total) and ``terms`` (``{name: unweighted loss}``)."""
        h = self._history
        i = self.history_rows - 1 if index is None else int(index)
        if h is None or not 0 <= i < min(len(h), self.history_rows):
            return None
        values = h.rows_since(i)[0]
        return {
            "step": int(h.step[i]),
            "phase": int(h.phase[i]),
            "epoch": int(h.epoch[i]),
            "lr": float(h.lr[i]),
            "time": float(h.time[i]),
            "loss": float(values[0]),
            "terms": {n: float(v) for n, v in zip(h.term_names, values[1:], strict=False)},
        }

    @property
    def unknowns(self) -> tuple[str, ...]:
        """The names of the model's output columns."""
        return tuple(self._objective.unknowns)

    def weights(self) -> torch.Tensor:
        """A copy of the objective's weight vector."""
        return self._objective.weights.detach().clone()

    def scalars(self) -> dict[str, torch.Tensor]:
        """Detached values of the model's trainable scalars, by name (empty when it has none)."""
        model = self._model
        found = model.scalars() if hasattr(model, "scalars") else {}
        return {k: v.detach() for k, v in found.items()}

    def parameters(self) -> tuple[torch.Tensor, ...]:
        """Copies of the tensors being optimized (in ``model.parameters()`` order)."""
        return tuple(p.detach().clone() for p in self._params)

    def objective_scalars(self) -> dict[str, torch.Tensor]:
        """Copies of the objective's named scalars (curriculum coefficients...)."""
        return {k: v.detach().clone() for k, v in self._objective.scalars.items()}

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output at ``x`` (no gradients)."""
        with torch.no_grad():
            return self._model(x).detach()

    def model_state(self) -> dict[str, torch.Tensor]:
        """A copy of the model's ``state_dict``."""
        return {k: v.detach().clone() for k, v in self._model.state_dict().items()}

    def evaluation(
        self,
        points: Mapping[str, PointSet] | None = None,
        *,
        create_graph: bool = False,
        reference: Mapping[str, PointSet] | None = None,
    ) -> Evaluation:
        """Evaluate the objective's terms at ``points`` (default: the run's point sets)."""
        return self._objective.evaluation(
            self._model,
            self.points if points is None else points,
            create_graph=create_graph,
            reference=reference,
        )

    def term_losses(self, positions: Sequence[int]) -> torch.Tensor:
        """The current unweighted losses of the terms at ``positions`` (full point sets, detached)."""
        ev = self.evaluation()
        return torch.stack([self.terms[i].loss(ev) for i in positions]).detach()

    def term_gradients(
        self, positions: Sequence[int], evaluation: Evaluation | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Losses and flat parameter gradients of the terms at ``positions`` (one evaluation)."""
        ev = evaluation if evaluation is not None else self._objective.evaluation(self._model, self.points)
        params = self._params
        losses, grads = [], []
        for k, i in enumerate(positions):
            loss = self.terms[i].loss(ev)
            g = torch.autograd.grad(loss, params, retain_graph=k < len(positions) - 1, allow_unused=True)
            flat = [
                (x if x is not None else torch.zeros_like(p)).reshape(-1)
                for x, p in zip(g, params, strict=True)
            ]
            grads.append(torch.cat(flat))
            losses.append(loss.detach())
        return torch.stack(losses), grads

    def gradient_of(
        self, loss: torch.Tensor, *, retain_graph: bool = False
    ) -> tuple[torch.Tensor | None, ...]:
        """``d loss / d parameters`` (None for parameters the loss does not depend on)."""
        return torch.autograd.grad(loss, self._params, retain_graph=retain_graph, allow_unused=True)

    def broadcast(self, tensor: torch.Tensor) -> None:
        """Make ``tensor`` equal on every data-parallel rank (rank 0's value; no-op otherwise)."""
        if self.distributed:
            torch.distributed.broadcast(tensor, src=0)

    def all_reduce(self, tensor: torch.Tensor) -> None:
        """Sum ``tensor`` in place over the data-parallel ranks (no-op otherwise)."""
        if self.distributed:
            torch.distributed.all_reduce(tensor)


class TrainingHook(abc.ABC):
    """Base class of stateful strategies updated by the trainer."""

    name: str = "hook"

    @abc.abstractmethod
    def on_step(self, view: TrainingView) -> TrainingUpdate | None:
        """Called after every optimizer step (``view.step`` is the step just made)."""

    def on_train_start(self, view: TrainingView) -> TrainingUpdate | None:
        """Called once before the first phase (not again when a run resumes from a checkpoint)."""
        return None

    def on_phase_start(self, view: TrainingView) -> TrainingUpdate | None:
        """Called when phase ``view.phase_index`` starts afresh, before its first step (not on a
        resume inside the phase)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """Training state to checkpoint (tensors, numbers, strings, lists, dicts)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore what :meth:`state_dict` saved."""
