"""Phase runners: the per-phase engine that owns an optimizer and makes one step at a time.

A phase (:class:`~pinnopt.train.phases.Phase`) is a frozen description; ``phase.runner(ctx)``
creates its runner, which holds what lives only while the phase runs: the optimizer, the
batch stream, the learning-rate schedule's state. The trainer drives every runner through
the same small interface (:class:`PhaseRunner`), so its loop never asks what kind of phase
it runs:

* :meth:`PhaseRunner.start` creates the optimizer and the batch stream;
* :meth:`PhaseRunner.step` makes one step and returns what happened (:class:`StepResult`);
* :meth:`PhaseRunner.state_dict` / :meth:`PhaseRunner.load_state_dict` checkpoint it.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..losses import Objective, PointSet
from . import distributed as ddp
from .batching import Batching, BatchStream, FullBatch, steps_per_epoch
from .lbfgs import LBFGSOptimizer, LBFGSStatus
from .stop import StopReason
from .trees import clone_tree

if TYPE_CHECKING:  # pragma: no cover
    from .phases import LBFGS, GradientPhase

log = logging.getLogger("pinnopt.train")

Evaluate = Callable[[nn.Module, Mapping[str, PointSet]], tuple[torch.Tensor, torch.Tensor]]
"""The objective as the trainer calls it: ``(model, points) -> (total, per-term losses)``."""


@dataclass(frozen=True)
class RunnerContext:
    """What a runner needs from the run: fixed for the run's lifetime.

    Attributes:
        model: the trainable module.
        evaluate: the objective, ``(model, points) -> (total, per-term losses)``.
        params: the tensors being optimized.
        generator: the seeded generator that draws mini-batch indices.
        world: the number of data-parallel ranks (1 without DDP).
        batch: the run's default batching (gradient phases may override it).
        point_sets: the names of the point sets the objective reads.
        index: the phase's position in the run.
        log: True on the process that logs.
        objective: the objective itself (second-order phases read its terms' residuals).
        batch_sizes: the sizes of the batched point sets when the run starts (what
            ``MiniBatch(scale_lr=True)`` scales by; None: the nominal batch size).
    """

    model: nn.Module
    evaluate: Evaluate
    params: Sequence[torch.Tensor]
    generator: torch.Generator
    world: int
    batch: Batching
    point_sets: tuple[str, ...]
    index: int
    log: bool
    objective: Objective | None = None
    batch_sizes: Mapping[str, int] | None = None


@dataclass(frozen=True)
class StepResult:
    """One completed step: what the trainer records and checks.

    Attributes:
        lr: the learning rate (trial step for L-BFGS) of the step.
        total: the weighted loss (a device tensor: read it only at check points).
        losses: the per-term losses (device tensor).
        epoch_done: True when the step completed an epoch.
        grad_ok: a device flag, False when the clipped gradient norm was not finite.
    """

    lr: float
    total: torch.Tensor
    losses: torch.Tensor
    epoch_done: bool
    grad_ok: torch.Tensor | None = None


class PhaseRunner(abc.ABC):
    """The running engine of one phase (see the module docstring)."""

    label: str = "phase"
    """How log and error messages name the phase kind."""
    steps_per_epoch: int = 1
    minibatch: bool = False
    """True when updates see mini-batches (check points then come at epoch ends)."""

    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx
        self.stream: BatchStream | None = None

    @abc.abstractmethod
    def start(self, points: Mapping[str, PointSet], lr_scale: float, *, fresh: bool) -> None:
        """Create the optimizer and batch stream (``fresh``: the phase starts, not resumes)."""

    @abc.abstractmethod
    def total_steps(self, points: Mapping[str, PointSet]) -> int:
        """The phase's step budget (after :meth:`start`)."""

    @abc.abstractmethod
    def step(
        self, points: Mapping[str, PointSet], *, lr_scale: float, phase_step: int, phase_total: int
    ) -> tuple[StepResult | None, int, StopReason | None]:
        """One step: ``(result or None when no step was completed, evaluations, stop reason)``."""

    @property
    def in_epoch(self) -> bool:
        """True when a mini-batch epoch is under way."""
        return self.stream is not None and self.stream.in_epoch

    def observe(self, cost: float) -> None:  # noqa: B027 - optional
        """An epoch's mean loss, seen at a check point (plateau schedules use it)."""

    def objective_changed(self) -> None:  # noqa: B027 - optional
        """The objective changed (weights, coefficients): forget what describes the old one."""

    def set_lr_scale(self, scale: float) -> None:  # noqa: B027 - optional
        """The divergence guard lowered the learning-rate scale to ``scale``."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """``{"optimizer", "schedule", "stream"}``: what continues the phase exactly."""

    @abc.abstractmethod
    def load_state_dict(self, state: Mapping[str, Any], points: Mapping[str, PointSet]) -> None:
        """Restore what :meth:`state_dict` saved (after :meth:`start` with ``fresh=False``)."""


class GradientRunner(PhaseRunner):
    """Runs a :class:`~pinnopt.train.phases.GradientPhase`: one gradient evaluation per step."""

    label = "gradient"

    def __init__(self, phase: GradientPhase, ctx: RunnerContext) -> None:
        super().__init__(ctx)
        self.phase = phase
        self.spec = phase.batch or ctx.batch
        self.opt: torch.optim.Optimizer | None = None
        self.schedule_state: dict[str, Any] = (
            phase.schedule.init_state() if phase.schedule is not None else {}
        )
        self._lr_set: float | None = None
        self.lr_factor = self.spec.lr_factor((ctx.batch_sizes or {}).values())
        """The batch-size scaling of the learning rate (fixed for the run: resumes give the same)."""

    def start(self, points: Mapping[str, PointSet], lr_scale: float, *, fresh: bool) -> None:
        self.opt = self.phase.make(self.ctx.params)
        names = [n for n in self.ctx.point_sets if n in points]
        self.stream = BatchStream(self.spec, names, self.ctx.generator)
        self.steps_per_epoch = steps_per_epoch(self.spec, [len(points[n]) for n in names])
        self.minibatch = not self.spec.trivial

    def total_steps(self, points: Mapping[str, PointSet]) -> int:
        if self.phase.epochs is None:
            return self.phase.steps
        assert self.stream is not None
        return self.phase.epochs * steps_per_epoch(self.spec, [len(points[n]) for n in self.stream.names])

    def _lr(self, lr_scale: float, phase_step: int, phase_total: int) -> float:
        lr = self.phase.lr * self.lr_factor * lr_scale
        if self.phase.schedule is not None:
            lr *= self.phase.schedule.multiplier(phase_step, phase_total, self.schedule_state)
        return lr

    def step(
        self, points: Mapping[str, PointSet], *, lr_scale: float, phase_step: int, phase_total: int
    ) -> tuple[StepResult | None, int, StopReason | None]:
        opt, stream, ctx = self.opt, self.stream, self.ctx
        assert opt is not None and stream is not None
        lr = self._lr(lr_scale, phase_step, phase_total)
        if lr != self._lr_set:
            for group in opt.param_groups:
                group["lr"] = lr
            self._lr_set = lr
        batch = stream.next(points)
        opt.zero_grad(set_to_none=True)
        total, losses = ctx.evaluate(ctx.model, batch)
        total.backward()
        if ctx.world > 1:
            total, losses = ddp.average(list(ctx.params), total, losses, ctx.world)
        ok = None
        if self.phase.clip_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(ctx.params, self.phase.clip_norm)
            ok = torch.isfinite(norm)
        opt.step()
        # Detached: the step's graph is freed here, not when the next step's result replaces
        # this one (its buffers can serve the next step: see pinnopt.nn.taylor.workspace).
        return StepResult(lr, total.detach(), losses.detach(), stream.epoch_done, ok), 1, None

    def observe(self, cost: float) -> None:
        if self.phase.schedule is not None:
            self.phase.schedule.observe(self.schedule_state, cost)

    def state_dict(self) -> dict[str, Any]:
        assert self.opt is not None and self.stream is not None
        return {
            "optimizer": clone_tree(self.opt.state_dict()),
            "schedule": clone_tree(self.schedule_state),
            "stream": self.stream.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any], points: Mapping[str, PointSet]) -> None:
        assert self.opt is not None and self.stream is not None
        self.schedule_state = clone_tree(state["schedule"])
        self.opt.load_state_dict(clone_tree(state["optimizer"]))
        self.stream.load_state_dict(state["stream"], points)


_LBFGS_REASONS = {
    LBFGSStatus.GRADIENT_TOLERANCE: StopReason.GRADIENT_TOLERANCE,
    LBFGSStatus.LOSS_CHANGE_TOLERANCE: StopReason.LOSS_CHANGE_TOLERANCE,
    LBFGSStatus.STEP_TOLERANCE: StopReason.STEP_TOLERANCE,
    LBFGSStatus.LINE_SEARCH_FAILED: StopReason.LINE_SEARCH_FAILED,
    LBFGSStatus.ROUND_OFF: StopReason.ROUND_OFF,
    LBFGSStatus.LINE_SEARCH_NOT_FINITE: StopReason.LINE_SEARCH_NOT_FINITE,
    LBFGSStatus.NOT_FINITE: StopReason.DIVERGED,
}


class LBFGSRunner(PhaseRunner):
    """Runs an :class:`~pinnopt.train.phases.LBFGS` phase: one iteration per step, full batch."""

    label = "L-BFGS"

    def __init__(self, phase: LBFGS, ctx: RunnerContext) -> None:
        super().__init__(ctx)
        self.phase = phase
        self.opt: LBFGSOptimizer | None = None

    def start(self, points: Mapping[str, PointSet], lr_scale: float, *, fresh: bool) -> None:
        self.opt = self.phase.make(self.ctx.params, lr_scale)
        self.stream = BatchStream(FullBatch(), (), self.ctx.generator)
        if fresh and not self.ctx.batch.trivial and self.ctx.log:
            log.info(
                "phase %d (L-BFGS) uses the full batch; batch=%r applies to gradient phases",
                self.ctx.index,
                self.ctx.batch,
            )

    def total_steps(self, points: Mapping[str, PointSet]) -> int:
        return self.phase.steps

    def step(
        self, points: Mapping[str, PointSet], *, lr_scale: float, phase_step: int, phase_total: int
    ) -> tuple[StepResult | None, int, StopReason | None]:
        opt, ctx = self.opt, self.ctx
        assert opt is not None

        def closure() -> tuple[torch.Tensor, torch.Tensor]:
            total, losses = ctx.evaluate(ctx.model, points)
            total.backward()
            if ctx.world > 1:
                total, losses = ddp.average(list(ctx.params), total, losses, ctx.world)
            return total.detach(), losses.detach()

        before_iter, before_evals = opt.n_iter, opt.n_evals
        status = opt.step(closure)
        reason = None if status is LBFGSStatus.CONTINUE else _LBFGS_REASONS[status]
        result = None
        if opt.n_iter > before_iter:
            extra = opt.extra
            total = torch.as_tensor(opt.f, dtype=extra.dtype, device=extra.device)
            result = StepResult(opt.lr, total, extra, True)
        return result, opt.n_evals - before_evals, reason

    def objective_changed(self) -> None:
        if self.opt is not None:
            self.opt.reset()

    def set_lr_scale(self, scale: float) -> None:
        assert self.opt is not None
        self.opt.lr = self.phase.lr * scale

    def state_dict(self) -> dict[str, Any]:
        assert self.opt is not None and self.stream is not None
        return {"optimizer": self.opt.state_dict(), "schedule": {}, "stream": self.stream.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any], points: Mapping[str, PointSet]) -> None:
        assert self.opt is not None and self.stream is not None
        self.opt.load_state_dict(state["optimizer"])
        self.stream.load_state_dict(state["stream"], points)
