"""The trainer: runs optimizer phases on an objective, records history, says why it stopped.

The hot loop (one optimizer step) does no host synchronization: losses are buffered on the
device, batches are gathered with indices drawn on the device at epoch starts, and the
learning rate is computed on the host. Everything that needs a value from the device
(logging, the divergence guard, stopping criteria, plateau schedules, the progress bar)
happens at *check points*: every ``log_every`` steps in full-batch phases, at epoch ends
(about every ``log_every`` steps) in mini-batch phases, at phase ends, and when a
criterion asks for one. See :mod:`pinnopt.train.state` for checkpoints and restores.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..losses import Objective, PointSet
from ..losses.evaluation import statistics_set
from ..losses.hooks import TrainingHook
from ..nn.norm import calibrate_batch_norm
from . import checkpoint as ckpt_files
from . import distributed as ddp
from .batching import Batching, BatchStream, FullBatch, steps_per_epoch
from .callbacks import Callback, StepCallback, as_callbacks
from .checkpoint import Checkpoint
from .checks import CheckMixin, sigint_flag
from .compiled import compiled_objective
from .distributed import DistributedContext
from .guard import DivergenceGuard
from .history import History
from .identity import RunIdentity
from .lbfgs import LBFGSOptimizer, LBFGSStatus
from .outcome import PhaseOutcome, Signal, TrainOutcome
from .phases import LBFGS, GradientPhase, Phase
from .progress import Progress
from .state import Restart, StateMixin
from .stop import StopReason
from .stopping import Criterion

log = logging.getLogger("pinnopt.train")

_LBFGS_REASONS = {
    LBFGSStatus.GRADIENT_TOLERANCE: StopReason.GRADIENT_TOLERANCE,
    LBFGSStatus.LOSS_CHANGE_TOLERANCE: StopReason.LOSS_CHANGE_TOLERANCE,
    LBFGSStatus.STEP_TOLERANCE: StopReason.STEP_TOLERANCE,
    LBFGSStatus.LINE_SEARCH_FAILED: StopReason.LINE_SEARCH_FAILED,
    LBFGSStatus.ROUND_OFF: StopReason.ROUND_OFF,
    LBFGSStatus.LINE_SEARCH_NOT_FINITE: StopReason.LINE_SEARCH_NOT_FINITE,
    LBFGSStatus.NOT_FINITE: StopReason.DIVERGED,
}


class Trainer(StateMixin, CheckMixin):
    """Minimizes an :class:`~pinnopt.losses.Objective` over a model with chained phases.

    Args:
        model: the trainable module (network and scalar parameters).
        objective: the weighted loss terms.
        points: the point sets, already on the model's device and dtype.
        phases: optimizer phases run in order, sharing one step counter and history.
        log_every: steps between check points (history flush, divergence guard, stopping
            criteria, log line, progress bar).
        callbacks: functions ``cb(trainer, step)`` or :class:`~pinnopt.train.Callback` objects.
        hooks: stateful strategies (:class:`~pinnopt.train.hooks.TrainingHook`) updated after
            every step, e.g. adaptive resampling of ``points``.
        batch: the default batching of gradient phases (default ``FullBatch()``).
        stop: a stopping criterion for the whole run (phases may have their own ``stop``).
        guard: the divergence guard (default ``DivergenceGuard()``).
        checkpoint: write checkpoints (``Checkpoint(dir, every=...)``) and on Ctrl-C.
        progress: show a progress bar (``None``: only on a terminal).
        seed: seeds the generator that draws mini-batches and subsets.
        distributed: this rank's place in a data-parallel run (the process group must exist).
        compile: ``torch.compile`` the objective (default False; see :mod:`pinnopt.train.compiled`):
            True, or a dict of ``torch.compile`` options.
        identity: what defines the run (:class:`~pinnopt.train.identity.RunIdentity`); written
            to every checkpoint and checked on resume (``po.solve`` passes it).
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        points: Mapping[str, PointSet],
        phases: Sequence[Phase],
        *,
        log_every: int = 100,
        callbacks: Sequence[StepCallback | Callback] = (),
        hooks: Sequence[TrainingHook] = (),
        batch: Batching | None = None,
        stop: Criterion | None = None,
        guard: DivergenceGuard | None = None,
        checkpoint: Checkpoint | None = None,
        progress: bool | None = False,
        seed: int = 0,
        distributed: DistributedContext | None = None,
        compile: bool | Mapping[str, Any] = False,
        identity: RunIdentity | None = None,
    ) -> None:
        if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 1:
            raise ConfigError(f"log_every={log_every!r}: expected an int >= 1")
        _check_types(phases, batch, stop, guard, checkpoint, hooks)
        self.model = model
        self.objective = objective
        self._compiled = compiled_objective(objective, compile)
        self.phases = list(phases)
        self.log_every = log_every
        self.callbacks = as_callbacks(callbacks)
        self.hooks = list(hooks)
        self.batch = batch or FullBatch()
        self.stop = stop
        self.guard = guard or DivergenceGuard()
        self.checkpoint = checkpoint
        self.identity = identity
        self.run_id = ckpt_files.new_run_id()
        self.resume_changes: dict[str, dict[str, str]] = {}
        self.progress = progress
        self.coordinates: tuple[str, ...] = ()
        """Names of the point coordinates, for messages (``po.solve`` sets them)."""
        self.dist = distributed if distributed is not None and distributed.world_size > 1 else None
        self._params = [p for p in model.parameters() if p.requires_grad]
        if not self._params:
            raise ConfigError("the model has no trainable parameters")
        self.device = self._params[0].device
        self.points = ddp.shard(points, self.dist) if self.dist else dict(points)
        if self.dist:
            ddp.broadcast_parameters(model)
        self.generator = torch.Generator(device=self.device)
        rank = self.dist.rank if self.dist else 0
        self.generator.manual_seed((int(seed) * 1_000_003 + 0x5EED + rank) % (2**63))
        self.history = History(objective.names)
        self.step = 0
        self.evaluations = 0
        self.epoch = 0
        self.phase_index = 0
        self.phase_step = 0
        self.lr_scale = 1.0
        self._opt: torch.optim.Optimizer | LBFGSOptimizer | None = None
        self._stream: BatchStream | None = None
        self._phase_total = 0
        self._phase_epochs = 0
        self._check_epochs = 1
        self._phase_status: StopReason | None = None
        self._sched_state: dict[str, Any] = {}
        self._outcomes: list[PhaseOutcome] = []
        self._phase_start = (0, 0, 0.0)
        self._epoch_start_row = 0
        self._pending_epochs: list[tuple[int, int, int, int]] = []
        self._checked_rows = 0
        self._lr_set: float | None = None
        self._grad_ok: torch.Tensor | None = None
        self._retries = 0
        self._elapsed0 = 0.0
        self._t0 = time.perf_counter()
        self._good: dict[str, Any] | None = None
        self._resumed = False
        self._in_step = False
        self._sigint = False
        self._stop_detail = ""
        self._signal: Signal | None = None

    # -- public -------------------------------------------------------------------------------
    @property
    def is_main(self) -> bool:
        """True on the process that logs and writes checkpoints (rank 0, or the only one)."""
        return self.dist is None or self.dist.is_main

    def parameters(self) -> list[torch.Tensor]:
        """The tensors being optimized."""
        return list(self._params)

    def objective_changed(self) -> None:
        """Tell the trainer that the objective changed (weights, coefficients): an L-BFGS phase
        re-evaluates the loss and drops its curvature memory before its next iteration;
        gradient phases need nothing."""
        if isinstance(self._opt, LBFGSOptimizer):
            self._opt.reset()

    def elapsed(self) -> float:
        """Wall time of the run so far in seconds (continued across resumes)."""
        return time.perf_counter() - self._t0

    def run(self) -> TrainOutcome:
        """Run the phases (from where a loaded checkpoint left off); return the outcome."""
        self._t0 = time.perf_counter() - self._elapsed0
        if not self._resumed:
            for hook in self.hooks:
                hook.on_train_start(self)
            if self.stop is not None:
                self.stop.reset()
        total = sum(p.steps for p in self.phases)
        self._bar = Progress(self.progress if self.is_main else False, total, self.objective.names, self.step)
        reason: StopReason | None = None
        try:
            with sigint_flag(self):
                if self._good is None:
                    self._snapshot()
                while reason is None:
                    try:
                        reason = self._run_phases()
                    except Restart:
                        continue
                    except KeyboardInterrupt:
                        reason = self._interrupted()
        finally:
            self._bar.close()
        reference = statistics_set(self.points)
        if reference is not None:  # batch norm: eval mode gets the trained function's statistics
            calibrate_batch_norm(self.model, self.points[reference].x)
        self.history.flush()
        outcome = TrainOutcome(
            self.history,
            reason,
            list(self._outcomes),
            self.step,
            self.evaluations,
            self.elapsed(),
            self._stop_detail,
            self.epoch,
            self._retries,
        )
        for cb in self.callbacks:
            cb.on_train_end(self, outcome)
        return outcome

    # -- phases -------------------------------------------------------------------------------
    def _run_phases(self) -> StopReason:
        reason = StopReason.STEP_BUDGET
        while self.phase_index < len(self.phases):
            phase = self.phases[self.phase_index]
            if self._opt is None:
                self._start_phase(phase)
            if isinstance(phase, LBFGS):
                self._lbfgs_steps(phase)
            else:
                self._gradient_steps(phase)  # type: ignore[arg-type]
            sig, self._signal = self._signal, None
            if sig is None or not sig.run:
                sig = self._end_phase(phase, sig)
            else:
                self._record_outcome(sig.reason, sig.detail)
                self._stop_detail = sig.detail
            if sig.run:
                return sig.reason
            reason = sig.reason
        return reason

    def _start_phase(self, phase: Phase, *, fresh: bool = True) -> None:
        """Create the phase's optimizer and batch stream (``fresh``: also reset its state)."""
        if isinstance(phase, LBFGS):
            self._opt = phase.make(self._params, self.lr_scale)
            self._stream = BatchStream(FullBatch(), (), self.generator)
            spe = 1
        elif isinstance(phase, GradientPhase):
            self._opt = phase.make(self._params)
            spec = phase.batch or self.batch
            names = [n for n in self.objective.point_set_names if n in self.points]
            self._stream = BatchStream(spec, names, self.generator)
            spe = steps_per_epoch(spec, [len(self.points[n]) for n in names])
        else:
            raise ConfigError(f"unsupported phase {phase!r}")
        self._lr_set = None
        self._check_epochs = max(1, math.ceil(self.log_every / spe))
        if not fresh:
            return
        for hook in self.hooks:
            hook.on_phase_start(self, self.phase_index)
        self._phase_total = phase.epochs * spe if getattr(phase, "epochs", None) is not None else phase.steps
        self._phase_epochs = 0
        self._phase_status = None
        schedule = getattr(phase, "schedule", None)
        self._sched_state = schedule.init_state() if schedule is not None else {}
        if phase.stop is not None:
            phase.stop.reset()
        if isinstance(phase, LBFGS) and not self.batch.trivial and self.is_main:
            log.info(
                "phase %d (L-BFGS) uses the full batch; batch=%r applies to gradient phases",
                self.phase_index,
                self.batch,
            )

    def _lr(self, phase: GradientPhase) -> float:
        spec = phase.batch or self.batch
        lr = phase.lr * spec.lr_factor() * self.lr_scale
        if phase.schedule is not None:
            lr *= phase.schedule.multiplier(self.phase_step, self._phase_total, self._sched_state)
        return lr

    def _gradient_steps(self, phase: GradientPhase) -> None:
        opt, stream = self._opt, self._stream
        assert isinstance(opt, torch.optim.Optimizer) and stream is not None
        params, clip, world = self._params, phase.clip_norm, self.dist.world_size if self.dist else 1
        while self._signal is None and self._phase_status is None and self.phase_step < self._phase_total:
            lr = self._lr(phase)
            if lr != self._lr_set:
                for group in opt.param_groups:
                    group["lr"] = lr
                self._lr_set = lr
            self._in_step = True
            batch = stream.next(self.points)
            opt.zero_grad(set_to_none=True)
            total, losses = (self._compiled or self.objective)(self.model, batch)
            total.backward()
            if world > 1:
                total, losses = ddp.average(params, total, losses, world)
            if clip is not None:
                norm = torch.nn.utils.clip_grad_norm_(params, clip)
                ok = torch.isfinite(norm)
                self._grad_ok = ok if self._grad_ok is None else self._grad_ok & ok
            opt.step()
            self.evaluations += 1
            self._end_step(phase, lr, total, losses, stream.epoch_done)

    def _lbfgs_steps(self, phase: LBFGS) -> None:
        opt = self._opt
        assert isinstance(opt, LBFGSOptimizer)
        world = self.dist.world_size if self.dist else 1

        def closure() -> tuple[torch.Tensor, torch.Tensor]:
            total, losses = (self._compiled or self.objective)(self.model, self.points)
            total.backward()
            if world > 1:
                total, losses = ddp.average(self._params, total, losses, world)
            return total.detach(), losses.detach()

        while self._signal is None and self._phase_status is None and self.phase_step < self._phase_total:
            self._in_step = True
            before_iter, before_evals = opt.n_iter, opt.n_evals
            status = opt.step(closure)
            self.evaluations += opt.n_evals - before_evals
            if status is not LBFGSStatus.CONTINUE:
                self._phase_status = _LBFGS_REASONS[status]
            if opt.n_iter > before_iter:
                extra = opt.extra
                total = torch.as_tensor(opt.f, dtype=extra.dtype, device=extra.device)
                self._end_step(phase, opt.lr, total, extra, True)
            self._in_step = False
        if self._signal is None and self._phase_status is StopReason.DIVERGED:
            self._signal = self._diverge("L-BFGS met a non-finite loss")

    def _end_phase(self, phase: Phase, sig: Signal | None) -> Signal:
        """Close the phase: last epoch, final check, outcome; then move to the next phase."""
        stream = self._stream
        partial = stream is not None and stream.in_epoch
        if partial:
            self._close_epoch()
        fresh = self._checked_rows == self.history.rows and not self._pending_epochs
        final = None if fresh else self._check()  # nothing new since this step's check point
        if final is not None and (final.run or sig is None):
            sig = final
        reason = sig.reason if sig is not None else (self._phase_status or StopReason.STEP_BUDGET)
        detail = sig.detail if sig is not None else ""
        dtype = self._params[0].dtype
        if reason is StopReason.ROUND_OFF and torch.finfo(dtype).bits < 64:
            detail = f"at {str(dtype).replace('torch.', '')} round-off: float64 may reach a lower loss"
        run_ends = sig is not None and sig.run
        if run_ends:
            self._stop_detail = detail
        elapsed = self.elapsed()
        outcome = self._record_outcome(reason, detail)
        if self.is_main:
            log.info(
                "phase %d (%s) ended after %d steps: %s%s",
                self.phase_index,
                phase.name,
                self.step - self._phase_start[0],
                reason.value,
                f" ({detail})" if detail else "",
            )
        index = self.phase_index
        self.phase_index += 1 if not run_ends else 0
        if not run_ends:
            self.phase_step = 0
            self._opt = None
            self._stream = None
            self._phase_status = None
            self._sched_state = {}
            self.lr_scale = 1.0
            self._phase_start = (self.step, self.evaluations, elapsed)
            self._snapshot()
        for cb in self.callbacks:
            if partial:
                cb.on_epoch_end(self, self.epoch)
            cb.on_phase_end(self, index, outcome)
        return sig if sig is not None else Signal(reason, False)

    # -- one step's bookkeeping -----------------------------------------------------------------
    def _end_step(
        self, phase: Phase, lr: float, total: torch.Tensor, losses: torch.Tensor, epoch_done: bool
    ) -> None:
        self.step += 1
        self.phase_step += 1
        elapsed = self.elapsed()
        self.history.record(
            self.step, self.phase_index, float(lr), elapsed, self.evaluations, total, losses, self.epoch + 1
        )
        if epoch_done:
            self._close_epoch()
        for t in self.objective.terms:
            t.on_step(self.step)
        for hook in self.hooks:
            hook.on_step(self, self.step)
        self._in_step = False
        stream = self._stream
        if stream is not None and not stream.spec.trivial:
            due = epoch_done and self._phase_epochs % self._check_epochs == 0
        else:
            due = self.step % self.log_every == 0
        # Under DDP only step-determined requests count: wall clocks differ between ranks.
        clock = elapsed if self.dist is None else 0.0
        for crit in (self.stop, phase.stop):
            if not due and crit is not None:
                due = crit.due(self.step, clock)
        if due:
            self._signal = self._check()
            if self._signal is not None and self._signal.reason is StopReason.DIVERGED:
                return  # the state went back to the last good step: nothing more to do for this one
        if self.checkpoint is not None and self.step % self.checkpoint.every == 0:
            self._write_checkpoint()
        for cb in self.callbacks:
            cb.on_step_end(self, self.step)
        if epoch_done:
            for cb in self.callbacks:
                cb.on_epoch_end(self, self.epoch)
        if self._sigint:
            raise KeyboardInterrupt

    def _close_epoch(self) -> None:
        self.epoch += 1
        self._phase_epochs += 1
        end = self.history.rows
        self._pending_epochs.append((self.epoch, self._epoch_start_row, end, self.step))
        self._epoch_start_row = end


def _check_types(
    phases: Sequence[Phase],
    batch: Any,
    stop: Any,
    guard: Any,
    checkpoint: Any,
    hooks: Sequence[Any],
) -> None:
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
