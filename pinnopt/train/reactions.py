"""The trainer's side of the training protocol (:mod:`pinnopt.losses.hooks`).

:class:`Reactions` builds the read-only :class:`~pinnopt.losses.hooks.TrainingView` of the
run, calls the hooks and callbacks with it, and applies the
:class:`~pinnopt.losses.hooks.TrainingUpdate` each returns, before the next one is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..losses import Objective
from ..losses.hooks import PhaseInfo, TrainingHook, TrainingUpdate, TrainingView
from .callbacks import Callback
from .distributed import DistributedContext
from .history import History
from .state import RunState


class Reactions:
    """Calls the hooks and callbacks of a run and applies their updates.

    Args:
        state: the run's live state (point sets, runner, counters).
        model: the trainable module.
        objective: the objective.
        phases: the run's phases.
        log_every: the trainer's steps between check points.
        dist: this rank's place in a data-parallel run.
        history: the loss history.
        hooks: the training hooks.
        callbacks: the callbacks.
    """

    def __init__(
        self,
        state: RunState,
        model: nn.Module,
        objective: Objective,
        phases: Sequence[Any],
        log_every: int,
        dist: DistributedContext | None,
        history: History,
        hooks: Sequence[TrainingHook],
        callbacks: Sequence[Callback],
    ) -> None:
        self.state, self.model, self.objective, self.history = state, model, objective, history
        self.hooks, self.callbacks, self.log_every, self.dist = hooks, callbacks, log_every, dist
        self.phases = tuple(PhaseInfo(i, p.name, p.steps, p.quasi_newton) for i, p in enumerate(phases))
        self.params = tuple(p for p in model.parameters() if p.requires_grad)
        self.last: tuple[torch.Tensor, torch.Tensor] | None = None
        """The last step's (weighted loss, per-term losses)."""

    def view(self) -> TrainingView:
        """The run as it stands now."""
        st, obj = self.state, self.objective
        loop = st.loop
        loss, losses = self.last if self.last is not None else (None, None)
        return TrainingView(
            loop.step,
            loop.epoch,
            loop.phase_index,
            self.phases,
            self.log_every,
            MappingProxyType(st.points),
            tuple(obj.terms),
            tuple(obj.names),
            st.device,
            self.dist is not None,
            obj,
            self.model,
            self.params,
            loss,
            losses,
            len(self.history),
            self.history,
            loop.checked_rows,
        )

    def apply(self, update: TrainingUpdate | None) -> None:
        """Apply what a hook or callback returned."""
        if update is None:
            return
        if not isinstance(update, TrainingUpdate):
            raise ConfigError(
                f"a training hook or callback returned {update!r}; expected None or po.TrainingUpdate"
            )
        st, obj = self.state, self.objective
        for name, ps in update.points.items():
            st.points[name] = ps
        if update.weights is not None:
            if update.weights.shape != obj.weights.shape:
                raise ConfigError(
                    f"TrainingUpdate(weights=...) has shape {tuple(update.weights.shape)}; the objective "
                    f"has {len(obj.names)} terms {list(obj.names)}"
                )
            obj.weights = update.weights
        if update.scalars:
            self._set_scalars(update.scalars)
        if update.model_state:
            self._set_state(update.model_state)
        for name, step, values, labels in update.records:
            self.history.record_series(name, step, values, labels)
        if update.objective_changed and st.runner is not None:
            st.runner.objective_changed()

    def _set_scalars(self, values: Any) -> None:
        own = self.model.scalars() if hasattr(self.model, "scalars") else {}
        unknown = sorted(set(values) - set(own))
        if unknown:
            raise ConfigError(
                f"TrainingUpdate(scalars=...): the model has no scalars {unknown}; it has {sorted(own)}"
            )
        with torch.no_grad():
            for name, v in values.items():
                own[name].copy_(v)

    def _set_state(self, values: Any) -> None:
        own = self.model.state_dict()
        unknown = sorted(set(values) - set(own))
        if unknown:
            raise ConfigError(f"TrainingUpdate(model_state=...): the model has no entries {unknown}")
        with torch.no_grad():
            for name, v in values.items():
                own[name].copy_(v)

    # -- the calls ------------------------------------------------------------------------------
    def train_start(self) -> None:
        for hook in self.hooks:
            self.apply(hook.on_train_start(self.view()))

    def phase_start(self) -> None:
        for hook in self.hooks:
            self.apply(hook.on_phase_start(self.view()))

    def step(self, total: torch.Tensor, losses: torch.Tensor) -> None:
        self.last = (total.detach(), losses.detach())
        for hook in self.hooks:
            self.apply(hook.on_step(self.view()))

    def step_end(self, step: int) -> None:
        for cb in self.callbacks:
            self.apply(cb.on_step_end(self.view(), step))

    def epoch_end(self, epoch: int) -> None:
        for cb in self.callbacks:
            self.apply(cb.on_epoch_end(self.view(), epoch))

    def phase_end(self, index: int, outcome: Any, epoch: int | None) -> None:
        for cb in self.callbacks:
            if epoch is not None:
                self.apply(cb.on_epoch_end(self.view(), epoch))
            self.apply(cb.on_phase_end(self.view(), index, outcome))

    def train_end(self, outcome: Any) -> None:
        for cb in self.callbacks:
            self.apply(cb.on_train_end(self.view(), outcome))
