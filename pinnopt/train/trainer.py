"""The trainer: runs optimizer phases on an objective, records history, says why it stopped.

The hot loop (one optimizer step) does no host synchronization: losses are buffered on the
device, batches are gathered with indices drawn on the device at epoch starts, and the
learning rate is computed on the host. Everything that needs a value from the device
(logging, the divergence guard, stopping criteria, plateau schedules, the progress bar)
happens at *check points*: every ``log_every`` steps in full-batch phases, at epoch ends
(about every ``log_every`` steps) in mini-batch phases, at phase ends, and when a
criterion asks for one. Each phase runs through its own runner
(:mod:`pinnopt.train.runners`); the run's state and its capture live in
:mod:`pinnopt.train.state`, checkpoint files in :mod:`pinnopt.train.resume`, check-point
decisions in :mod:`pinnopt.train.checks`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..losses import Objective, PointSet
from ..losses.evaluation import statistics_set
from ..losses.hooks import TrainingHook
from ..nn.norm import calibrate_batch_norm
from . import distributed as ddp
from .batching import Batching, FullBatch, warn_oversized
from .callbacks import Callback, StepCallback, as_callbacks
from .checkpoint import Checkpoint
from .checks import CheckPoints, sigint_flag
from .compiled import compiled_objective
from .distributed import DistributedContext
from .guard import DivergenceGuard
from .history import History
from .identity import RunIdentity
from .options import check_options
from .outcome import Signal, TrainOutcome
from .phases import GradientPhase, Phase
from .progress import Progress
from .reactions import Reactions
from .resume import Checkpointer
from .runners import RunnerContext, StepResult
from .state import Restart, RunState
from .stop import StopReason
from .stopping import Criterion

log = logging.getLogger("pinnopt.train")


class Trainer:
    """Minimizes an :class:`~pinnopt.losses.Objective` over a model with chained phases.

    Args:
        model: the trainable module (network and scalar parameters).
        objective: the weighted loss terms.
        points: the point sets, already on the model's device and dtype.
        phases: optimizer phases run in order, sharing one step counter and history.
        log_every: steps between check points (history flush, divergence guard, stopping
            criteria, log line, progress bar).
        callbacks: functions ``cb(view, step)`` or :class:`~pinnopt.train.Callback` objects (they
            see a read-only :class:`~pinnopt.losses.hooks.TrainingView` and may return updates).
        hooks: stateful strategies (:class:`~pinnopt.losses.hooks.TrainingHook`) updated after
            every step, e.g. adaptive resampling of ``points``.
        batch: the default batching of gradient phases (default ``FullBatch()``; refused
            when no phase uses it).
        stop: a stopping criterion for the whole run (phases may have their own ``stop``).
        guard: the divergence guard (default ``DivergenceGuard()``).
        checkpoint: write checkpoints (``Checkpoint(dir, every=...)``) and on Ctrl-C.
        progress: show progress (:class:`~pinnopt.train.progress.Progress`): ``True`` a bar on a
            terminal and a line per check point elsewhere, ``None`` the bar on a terminal only,
            ``False`` (default) nothing.
        seed: seeds the generator that draws mini-batches and subsets.
        distributed: this rank's place in a data-parallel run (the process group must exist).
        compile: ``torch.compile`` the objective (default False; see :mod:`pinnopt.train.compiled`):
            True, or a dict of ``torch.compile`` options (a warning when only
            Levenberg-Marquardt / Gauss-Newton phases run: they never evaluate it).
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
        check_options(phases, batch, stop, guard, checkpoint, hooks)
        self.model = model
        self.objective = objective
        self._compiled = compiled_objective(objective, compile, phases)
        self.phases = list(phases)
        self.log_every = log_every
        self.callbacks = as_callbacks(callbacks)
        self.hooks = list(hooks)
        self.batch = batch or FullBatch()
        self.stop = stop
        self.guard = guard or DivergenceGuard()
        self.checkpoint = checkpoint
        self.identity = identity
        self.progress = progress
        self.dist = distributed if distributed is not None and distributed.world_size > 1 else None
        self._params = [p for p in model.parameters() if p.requires_grad]
        if not self._params:
            raise ConfigError("the model has no trainable parameters")
        self.device = self._params[0].device
        points = ddp.shard(points, self.dist) if self.dist else dict(points)
        if self.dist:
            ddp.broadcast_parameters(model)
        self.generator = torch.Generator(device=self.device)
        rank = self.dist.rank if self.dist else 0
        self.generator.manual_seed((int(seed) * 1_000_003 + 0x5EED + rank) % (2**63))
        self.batch_sizes = {n: len(points[n]) for n in objective.point_set_names if n in points}
        """Sizes of the batched point sets when the run starts (per rank under data parallelism):
        what ``MiniBatch(scale_lr=True)`` scales by, recorded in the result's config."""
        if self.is_main:
            specs = [p.batch or self.batch for p in self.phases if isinstance(p, GradientPhase)]
            warn_oversized(specs, self.batch_sizes, stacklevel=3)
        self.history = History(objective.names)
        self._state = RunState(
            model,
            objective,
            points,
            self.phases,
            self.hooks,
            stop,
            self.history,
            self.generator,
            self.device,
            RunnerContext(
                model,
                self._compiled or objective,
                self._params,
                self.generator,
                self.dist.world_size if self.dist else 1,
                self.batch,
                tuple(objective.point_set_names),
                0,
                self.is_main,
                objective,
                self.batch_sizes,
            ),
        )
        self.loop = self._state.loop
        """Where the run stands (counters, pending signal, outcomes)."""
        dtype = self._params[0].dtype
        self._ckpt = Checkpointer(
            self._state, self.phases, objective.names, dtype, self.dist, identity, checkpoint
        )
        self._react = Reactions(
            self._state,
            model,
            objective,
            self.phases,
            log_every,
            self.dist,
            self.history,
            self.hooks,
            self.callbacks,
        )
        self._checks = CheckPoints(
            self._state,
            self._ckpt,
            model,
            objective,
            stop,
            self.guard,
            self.dist,
            checkpoint,
            self._react.apply,
        )
        self._in_step = False
        self._interrupts = sigint_flag()

    # -- public -------------------------------------------------------------------------------
    @property
    def points(self) -> dict[str, PointSet]:
        """The point sets (hooks may replace entries)."""
        return self._state.points

    @property
    def coordinates(self) -> tuple[str, ...]:
        """Names of the point coordinates, for messages (``po.solve`` sets them)."""
        return self._checks.coordinates

    @coordinates.setter
    def coordinates(self, value: tuple[str, ...]) -> None:
        self._checks.coordinates = tuple(value)

    @property
    def run_id(self) -> str:
        """The id in this run's checkpoint file names (kept by a resumed run)."""
        return self._ckpt.run_id

    @property
    def resume_changes(self) -> dict[str, dict[str, str]]:
        """The settings that changed since the loaded checkpoint was written."""
        return self._ckpt.resume_changes

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
        if self._state.runner is not None:
            self._state.runner.objective_changed()

    def elapsed(self) -> float:
        """Wall time of the run so far in seconds (continued across resumes)."""
        return self._state.elapsed()

    def run(self) -> TrainOutcome:
        """Run the phases (from where a loaded checkpoint left off); return the outcome."""
        if self.checkpoint is not None and self.is_main:
            self.checkpoint.prepare()  # an unwritable folder is refused before the first step
        self._state.t0 = time.perf_counter() - self._ckpt.elapsed0
        if not self._ckpt.resumed:
            self._react.train_start()
            if self.stop is not None:
                self.stop.reset()
        total = sum(p.steps for p in self.phases)
        bar = Progress(self.progress if self.is_main else False, total, self.objective.names, self.loop.step)
        self._checks.bar = bar
        reason: StopReason | None = None
        try:
            with self._interrupts:
                if self._state.good is None:
                    self._state.snapshot()
                while reason is None:
                    try:
                        reason = self._run_phases()
                    except Restart:
                        continue
                    except KeyboardInterrupt:
                        reason = self._interrupted()
        finally:
            bar.close()
        reference = statistics_set(self.points)
        if reference is not None:  # batch norm: eval mode gets the trained function's statistics
            calibrate_batch_norm(self.model, self.points[reference].x)
        self.history.flush()
        outcome = self.loop.outcome(self.history, reason, self.elapsed(), self._state.retries)
        self._react.train_end(outcome)
        return outcome

    # -- phases -------------------------------------------------------------------------------
    def _run_phases(self) -> StopReason:
        loop = self.loop
        reason = StopReason.STEP_BUDGET
        while loop.phase_index < len(self.phases):
            phase = self.phases[loop.phase_index]
            if self._state.runner is None:
                self._start_phase(phase)
            self._steps(phase)
            sig, loop.signal = loop.signal, None
            if sig is None or not sig.run:
                sig = self._end_phase(phase, sig)
            else:
                self._checks.record_outcome(sig.reason, sig.detail)
                loop.stop_detail = sig.detail
            if sig.run:
                return sig.reason
            reason = sig.reason
        return reason

    def _start_phase(self, phase: Phase) -> None:
        """Start the phase afresh: its runner, hooks, step budget and stopping state."""
        runner = self._state.runner = self._state.make_runner(phase, fresh=True)
        self._react.phase_start()
        self.loop.phase_total = runner.total_steps(self.points)
        self.loop.phase_epochs = 0
        self.loop.phase_status = None
        if phase.stop is not None:
            phase.stop.reset()

    def _steps(self, phase: Phase) -> None:
        """Run the phase's steps until its budget, a stop status or a signal."""
        runner, loop = self._state.runner, self.loop
        assert runner is not None
        while loop.signal is None and loop.phase_status is None and loop.phase_step < loop.phase_total:
            self._in_step = True
            result, evaluations, status = runner.step(
                self.points, lr_scale=loop.lr_scale, phase_step=loop.phase_step, phase_total=loop.phase_total
            )
            loop.evaluations += evaluations
            if status is not None:
                loop.phase_status = status
            if result is not None:
                self._state.note_gradient(result.grad_ok)
                self._end_step(phase, result)
            self._in_step = False
        if loop.signal is None and loop.phase_status is StopReason.DIVERGED:
            loop.signal = self._checks.diverge(f"{runner.label} met a non-finite loss")

    def _end_phase(self, phase: Phase, sig: Signal | None) -> Signal:
        """Close the phase: last epoch, final check, outcome; then move to the next phase."""
        loop = self.loop
        partial = self._state.runner is not None and self._state.runner.in_epoch
        if partial:
            self._close_epoch()
        sig, outcome = self._checks.close_phase(sig, self._react.view())
        index = loop.phase_index
        if not sig.run:
            self._state.next_phase()
        self._react.phase_end(index, outcome, loop.epoch if partial else None)
        return sig

    # -- one step's bookkeeping -----------------------------------------------------------------
    def _end_step(self, phase: Phase, result: StepResult) -> None:
        loop = self.loop
        loop.step += 1
        loop.phase_step += 1
        elapsed = self.elapsed()
        row = (loop.step, loop.phase_index, float(result.lr), elapsed, loop.evaluations)
        self.history.record(*row, result.total, result.losses, loop.epoch + 1)
        epoch_done = result.epoch_done
        if epoch_done:
            self._close_epoch()
        for t in self.objective.terms:
            t.on_step(loop.step)
        self._react.step(result.total, result.losses)
        self._in_step = False
        runner = self._state.runner
        if runner is not None and runner.minibatch:
            every = max(1, math.ceil(self.log_every / runner.steps_per_epoch))
            due = epoch_done and loop.phase_epochs % every == 0
        else:
            due = loop.step % self.log_every == 0
        # Under DDP only step-determined requests count: wall clocks differ between ranks.
        clock = elapsed if self.dist is None else 0.0
        for crit in (self.stop, phase.stop):
            if not due and crit is not None:
                due = crit.due(loop.step, clock)
        if due:
            loop.signal = self._checks.check(self._react.view())
            if loop.signal is not None and loop.signal.reason is StopReason.DIVERGED:
                return  # the state went back to the last good step: nothing more to do for this one
        if self.checkpoint is not None and loop.step % self.checkpoint.every == 0:
            self._ckpt.write_periodic()
        self._react.step_end(loop.step)
        if epoch_done:
            self._react.epoch_end(loop.epoch)
        if self._interrupts.requested:
            raise KeyboardInterrupt

    def _close_epoch(self) -> None:
        loop = self.loop
        loop.epoch += 1
        loop.phase_epochs += 1
        end = self.history.rows
        loop.pending_epochs.append((loop.epoch, loop.epoch_start_row, end, loop.step))
        loop.epoch_start_row = end

    def _interrupted(self) -> StopReason:
        in_step, self._in_step = self._in_step, False
        return self._checks.interrupted(in_step)

    # -- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The checkpoint payload: CPU tensors and plain data only (``weights_only``-safe).

        Under data-parallel training this is a collective call (every rank must make it).
        """
        return self._ckpt.payload()

    def load_state_dict(self, payload: dict[str, Any]) -> None:
        """Continue from a checkpoint payload (see :meth:`state_dict`)."""
        self._ckpt.load(payload)

    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path | None:
        """Write a checkpoint of the current state to ``path`` (rank 0 only; atomic)."""
        return self._ckpt.save(path)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> Path:
        """Continue from a checkpoint file, or from the newest checkpoint of a folder.

        A folder may hold the checkpoints of several runs: the most recently written run whose
        fingerprint matches this run's is continued; when none matches, the error lists the
        fields that differ from the most recent one. Returns the file loaded.
        """
        return self._ckpt.load_file(path)
