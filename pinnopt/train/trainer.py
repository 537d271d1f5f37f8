"""The trainer: runs optimizer phases on an objective, records history, says why it stopped."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..losses import Objective, PointSet
from .history import History
from .hooks import TrainingHook
from .lbfgs import LBFGSStatus
from .phases import LBFGS, GradientPhase, Phase
from .stop import StopReason

log = logging.getLogger("pinnopt.train")

_LBFGS_REASONS = {
    LBFGSStatus.GRADIENT_TOLERANCE: StopReason.GRADIENT_TOLERANCE,
    LBFGSStatus.LOSS_CHANGE_TOLERANCE: StopReason.LOSS_CHANGE_TOLERANCE,
    LBFGSStatus.STEP_TOLERANCE: StopReason.STEP_TOLERANCE,
    LBFGSStatus.LINE_SEARCH_FAILED: StopReason.LINE_SEARCH_FAILED,
    LBFGSStatus.NOT_FINITE: StopReason.DIVERGED,
}


@dataclass(frozen=True)
class PhaseOutcome:
    """How one phase ended."""

    name: str
    steps: int
    evaluations: int
    reason: StopReason
    wall_time_s: float


@dataclass
class TrainOutcome:
    """What a training run produced besides the trained model."""

    history: History
    reason: StopReason
    phases: list[PhaseOutcome] = field(default_factory=list)
    steps: int = 0
    evaluations: int = 0
    wall_time_s: float = 0.0


StepCallback = Callable[["Trainer", int], None]


class Trainer:
    """Minimizes an :class:`~pinnopt.losses.Objective` over a model with chained phases.

    Args:
        model: the trainable module (network and scalar parameters).
        objective: the weighted loss terms.
        points: the point sets, already on the model's device and dtype.
        phases: optimizer phases run in order, sharing one step counter and history.
        log_every: steps between host synchronizations (history flush, NaN check, log line).
        callbacks: called as ``cb(trainer, step)`` after every step.
        hooks: stateful strategies (:class:`~pinnopt.train.hooks.TrainingHook`) updated after
            every step, e.g. adaptive resampling of ``points``.
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        points: Mapping[str, PointSet],
        phases: Sequence[Phase],
        *,
        log_every: int = 100,
        callbacks: Sequence[StepCallback] = (),
        hooks: Sequence[TrainingHook] = (),
    ) -> None:
        self.model = model
        self.objective = objective
        self.points = dict(points)
        self.phases = list(phases)
        self.log_every = max(1, int(log_every))
        self.callbacks = list(callbacks)
        self.hooks = list(hooks)
        self.history = History(objective.names)
        self.step = 0
        self.evaluations = 0
        self._start = 0.0
        self._good: dict[str, Any] | None = None
        self._good_len = 0

    # -- public -------------------------------------------------------------------------------
    def run(self) -> TrainOutcome:
        """Run every phase; return the history and why training stopped."""
        self._start = time.perf_counter()
        outcomes: list[PhaseOutcome] = []
        reason = StopReason.STEP_BUDGET
        for hook in self.hooks:
            hook.on_train_start(self)
        self._snapshot()
        for index, phase in enumerate(self.phases):
            t0, s0, e0 = time.perf_counter(), self.step, self.evaluations
            try:
                if isinstance(phase, LBFGS):
                    reason = self._run_lbfgs(index, phase)
                elif isinstance(phase, GradientPhase):
                    reason = self._run_gradient(index, phase)
                else:
                    raise TypeError(f"unsupported phase {phase!r}")
            except KeyboardInterrupt:
                self._flush_checked()
                reason = StopReason.INTERRUPTED
                log.warning("interrupted at step %d; returning the last completed step", self.step)
            outcomes.append(
                PhaseOutcome(
                    phase.name, self.step - s0, self.evaluations - e0, reason, time.perf_counter() - t0
                )
            )
            log.info(
                "phase %d (%s) ended after %d steps: %s", index, phase.name, self.step - s0, reason.value
            )
            if reason in (StopReason.DIVERGED, StopReason.INTERRUPTED):
                break
        self._flush_checked()
        return TrainOutcome(
            self.history, reason, outcomes, self.step, self.evaluations, time.perf_counter() - self._start
        )

    def parameters(self) -> list[torch.Tensor]:
        """The tensors being optimized."""
        return [p for p in self.model.parameters() if p.requires_grad]

    # -- phases -------------------------------------------------------------------------------
    def _loss(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.objective(self.model, self.points)

    def _run_gradient(self, index: int, phase: GradientPhase) -> StopReason:
        opt = phase.make(self.parameters())
        for _ in range(phase.steps):
            opt.zero_grad(set_to_none=True)
            total, losses = self._loss()
            total.backward()
            opt.step()
            self.evaluations += 1
            self._after_step(index, opt.param_groups[0]["lr"], total, losses)
            if self.step % self.log_every == 0 and not self._flush_checked():
                return StopReason.DIVERGED
        if not self._flush_checked():
            return StopReason.DIVERGED
        return StopReason.STEP_BUDGET

    def _run_lbfgs(self, index: int, phase: LBFGS) -> StopReason:
        opt = phase.make(self.parameters())

        def closure() -> tuple[torch.Tensor, torch.Tensor]:
            total, losses = self._loss()
            total.backward()
            return total.detach(), losses.detach()

        for _ in range(phase.steps):
            before_iter, before_evals = opt.n_iter, opt.n_evals
            status = opt.step(closure)
            self.evaluations += opt.n_evals - before_evals
            if opt.n_iter > before_iter:
                total = torch.as_tensor(opt.f)
                self._after_step(index, phase.lr, total, opt.extra)
                if self.step % self.log_every == 0:
                    self._flush_checked()
            if status is not LBFGSStatus.CONTINUE:
                if status is LBFGSStatus.NOT_FINITE:
                    self._restore()
                return _LBFGS_REASONS[status]
        return StopReason.STEP_BUDGET

    # -- bookkeeping --------------------------------------------------------------------------
    def _after_step(self, phase: int, lr: float, total: torch.Tensor, losses: torch.Tensor) -> None:
        self.step += 1
        self.history.record(
            self.step, phase, float(lr), time.perf_counter() - self._start, self.evaluations, total, losses
        )
        for t in self.objective.terms:
            t.on_step(self.step)
        for hook in self.hooks:
            hook.on_step(self, self.step)
        for cb in self.callbacks:
            cb(self, self.step)

    def _flush_checked(self) -> bool:
        """Flush the history; on a non-finite loss restore the last good state."""
        rows = self.history.flush()
        if rows is not None and not bool(torch.isfinite(torch.from_numpy(rows)).all()):
            self._restore()
            return False
        if rows is not None and len(rows):
            last = float(rows[-1, 0])
            log.info("step %6d  loss %.4e", self.step, last)
            if math.isfinite(last):
                self._snapshot()
        return True

    def _snapshot(self) -> None:
        self._good = copy.deepcopy(self.model.state_dict())
        self._good_len = len(self.history)

    def _restore(self) -> None:
        if self._good is not None:
            self.model.load_state_dict(self._good)
        self.history.discard_pending()
        self.history.truncate(self._good_len)
        self.step = self.history.step[-1] if len(self.history) else 0
        log.warning("non-finite loss: restored the state of step %d", self.step)
