"""Check points: the divergence guard's decisions, stopping decisions, and interruptions.

Everything here may read values from the device; the trainer calls it only at check points
(see :mod:`pinnopt.train.trainer`), never inside a step. The functions take what they
decide on as arguments and return the decision; the trainer applies it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError
from ..losses import Objective
from . import distributed as ddp
from .checkpoint import Checkpoint
from .distributed import DistributedContext
from .guard import DivergenceGuard
from .nonfinite import describe_nonfinite
from .outcome import PhaseOutcome, Signal
from .progress import Progress
from .resume import Checkpointer
from .state import Restart, RunState, all_finite
from .stop import StopReason
from .stopping import Criterion, Observation, describe_stop

log = logging.getLogger("pinnopt.train")

_REASONS = list(StopReason)


def observations(
    pending: Sequence[tuple[int, int, int, int]],
    loss: np.ndarray,
    step: int,
    epoch: int,
    elapsed: float,
    live: Any,
) -> list[Observation]:
    """The observations of a check point: one per epoch completed since the previous check
    point (``pending``: ``(epoch, first row, end row, step)``), the last one live (``live`` is
    what a live observation carries for criteria that read the current model)."""
    out = [Observation(s, e, float(loss[a:b].mean()), elapsed, False) for e, a, b, s in pending]
    if out and out[-1].step == step:
        last = out.pop()
        out.append(Observation(last.step, last.epoch, last.cost, elapsed, True, live))
    else:
        out.append(Observation(step, epoch, None, elapsed, True, live))
    return out


def decide(
    observations: Sequence[Observation],
    criteria: Sequence[tuple[Criterion | None, bool]],
    dist: DistributedContext | None,
    device: torch.device,
    live: Any,
    apply: Callable[[Any], None],
) -> Signal | None:
    """Show the observations to each ``(criterion, ends the run)``; the first that fires gives
    the signal (a run-ending one wins over a phase-ending one). The fired leaves' ``on_stop``
    sees ``live`` (the run's view); ``apply`` applies the update it returns. Under DDP rank
    0's decision is broadcast."""
    found: Signal | None = None
    for crit, run in criteria:
        if crit is None:
            continue
        for obs in observations:
            if crit.observe(obs):
                leaves = crit.fired()
                if found is None or (run and not found.run):
                    found = Signal(leaves[0].reason, run, describe_stop(leaves, observations[-1].step))
                    for leaf in leaves:
                        apply(leaf.on_stop(live))
                break
    if dist:
        code = -1.0 if found is None else float(_REASONS.index(found.reason) + (1000 if found.run else 0))
        code = ddp.broadcast_codes([code], device)[0]
        if code < 0:
            return None
        run = code >= 1000
        return Signal(_REASONS[int(code) - (1000 if run else 0)], run, found.detail if found else "")
    return found


def divergence(
    what: str, where: str | None, step: int, retries: int, guard: DivergenceGuard, log_it: bool
) -> Signal | None:
    """The guard's decision after restoring the last good state: a stop signal, or None to
    retry with a lower learning rate.

    ``where`` describes the non-finite terms of the restored state (None: it is finite).
    When the restored state itself has a non-finite loss or gradient (a term undefined at
    the initial network, say), retries cannot help: stop at once with
    :attr:`StopReason.NOT_FINITE`, naming the terms and the points. ``retries`` counts this
    divergence.
    """
    if where is not None:
        when = (
            "at initialization (step 0, before any update)"
            if step == 0
            else f"at step {step} (the last finite check point)"
        )
        detail = f"{what}; the restored state is not finite {when}: {where}; no retries (they cannot help)"
        if log_it:
            log.error("%s", detail)
        return Signal(StopReason.NOT_FINITE, True, detail)
    if retries > guard.max_retries:
        detail = f"{what}; gave up after {guard.max_retries} retries at step {step}"
        if log_it:
            log.warning("divergence: %s", detail)
        return Signal(StopReason.DIVERGED, True, detail)
    return None


class CheckPoints:
    """What the trainer does at check points, at phase ends, on divergence and on Ctrl-C.

    Args:
        state: the run's live state.
        checkpoints: the run's checkpoint writer.
        model: the trainable module.
        objective: the objective (named in messages about non-finite terms).
        stop: the run's stopping criterion.
        guard: the divergence guard's settings.
        dist: this rank's place in a data-parallel run.
        config: the periodic checkpoint settings (None: none).
        apply: applies a :class:`~pinnopt.losses.hooks.TrainingUpdate` (returned by a stopping
            criterion's ``on_stop``).
    """

    def __init__(
        self,
        state: RunState,
        checkpoints: Checkpointer,
        model: nn.Module,
        objective: Objective,
        stop: Criterion | None,
        guard: DivergenceGuard,
        dist: DistributedContext | None,
        config: Checkpoint | None,
        apply: Callable[[Any], None],
    ) -> None:
        self.state, self.checkpoints, self.model, self.objective = state, checkpoints, model, objective
        self.stop, self.guard, self.dist, self.config = stop, guard, dist, config
        self.apply = apply
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.coordinates: tuple[str, ...] = ()
        self.bar: Progress | None = None
        """The progress bar (updated at check points on the logging rank)."""

    @property
    def is_main(self) -> bool:
        return self.dist is None or self.dist.is_main

    def check(self, live: Any) -> Signal | None:
        """Flush, guard against NaN/Inf, feed schedules and criteria, log; snapshot if clean.

        ``live`` is what live observations carry (criteria that read the current model)."""
        st = self.state
        loop, history = st.loop, st.history
        history.flush()
        rows = history.rows_since(loop.checked_rows)
        bad = not all_finite(rows, self.params, st.grad_ok)
        st.grad_ok = None
        if self.dist:
            bad = ddp.broadcast_codes([float(bad)], st.device)[0] > 0
        if bad:
            return self.diverge("non-finite loss, gradient or parameters" + self._non_finite_terms(rows))
        loop.checked_rows = len(history)
        obs = observations(loop.pending_epochs, history.loss, loop.step, loop.epoch, st.elapsed(), live)
        loop.pending_epochs = []
        phase = st.phase
        if st.runner is not None:
            for o in obs:
                if o.cost is not None:
                    st.runner.observe(o.cost)
        criteria = ((self.stop, True), (phase.stop if phase is not None else None, False))
        sig = decide(obs, criteria, self.dist, st.device, live, self.apply)
        if self.is_main and len(rows):
            name = phase.name if phase is not None else ""
            if self.bar is not None:  # the bar, or a line per check point, or the -v log line
                self.bar.update(loop.step, float(rows[-1][0]), [float(v) for v in rows[-1][1:]], name)
            else:
                log.info("step %6d  loss %.4e  %s", loop.step, rows[-1][0], name)
        st.snapshot()
        return sig

    def _non_finite_terms(self, rows: np.ndarray) -> str:
        """``" (non-finite terms: ...)"`` naming the loss terms that went NaN or Inf, or ``""``."""
        if not len(rows):
            return ""
        names = self.state.history.term_names
        bad = [n for n, ok in zip(names, np.isfinite(rows[:, 1:]).all(axis=0), strict=False) if not ok]
        if not bad:
            return ""
        kinds = {t.name: t for t in self.objective.terms}
        barriers = [n for n in bad if hasattr(kinds.get(n), "set_m")]  # barrier terms of bounds
        hint = f"; barrier {', '.join(barriers)}: check its slack, or lower m or cap" if barriers else ""
        return f" (non-finite terms: {', '.join(bad)}{hint})"

    def diverge(self, what: str) -> Signal:
        """Restore the last good state; retry with a lower learning rate (raises
        :class:`~pinnopt.train.state.Restart`), or return the signal that stops the run."""
        st = self.state
        assert st.good is not None
        st.restore(st.good)
        where = describe_nonfinite(self.objective, self.model, st.points, self.coordinates)
        if self.dist:
            found = [w for w in ddp.gather(where, self.dist) if w]
            where = found[0] if found else None
        if where is None:
            st.retries += 1
        sig = divergence(what, where, st.loop.step, st.retries, self.guard, self.is_main)
        if sig is not None:
            return sig
        loop = st.loop
        loop.lr_scale *= self.guard.factor
        if st.runner is not None:
            st.runner.set_lr_scale(loop.lr_scale)
        if self.is_main:
            log.warning(
                "divergence (%s): restored step %d, learning rate x%g (retry %d of %d)",
                what,
                loop.step,
                loop.lr_scale,
                st.retries,
                self.guard.max_retries,
            )
        raise Restart

    def record_outcome(self, reason: StopReason, detail: str = "") -> PhaseOutcome | None:
        """Append the outcome of the current phase."""
        st = self.state
        phase, loop = st.phase, st.loop
        if phase is None:
            return None
        s0, e0, t0 = loop.phase_start
        outcome = PhaseOutcome(
            phase.name, loop.step - s0, loop.evaluations - e0, reason, st.elapsed() - t0, detail
        )
        loop.outcomes.append(outcome)
        return outcome

    def close_phase(self, sig: Signal | None, live: Any) -> tuple[Signal, PhaseOutcome | None]:
        """The phase's final check, signal and outcome (logged)."""
        st = self.state
        loop, phase = st.loop, st.phase
        fresh = loop.checked_rows == st.history.rows and not loop.pending_epochs
        final = None if fresh else self.check(live)  # nothing new since this step's check point
        if final is not None and (final.run or sig is None):
            sig = final
        reason = sig.reason if sig is not None else (loop.phase_status or StopReason.STEP_BUDGET)
        detail = sig.detail if sig is not None else ""
        dtype = self.params[0].dtype
        if reason is StopReason.ROUND_OFF and torch.finfo(dtype).bits < 64:
            detail = f"at {str(dtype).replace('torch.', '')} round-off: float64 may reach a lower loss"
        if sig is not None and sig.run:
            loop.stop_detail = detail
        outcome = self.record_outcome(reason, detail)
        if self.is_main:
            log.info(
                "phase %d (%s) ended after %d steps: %s%s",
                loop.phase_index,
                phase.name,
                loop.step - loop.phase_start[0],
                reason.value,
                f" ({detail})" if detail else "",
            )
        return (sig if sig is not None else Signal(reason, False)), outcome

    def interrupted(self, in_step: bool) -> StopReason:
        """Ctrl-C: back to the last good state when needed, a checkpoint if asked, the outcome."""
        st = self.state
        # Inside a step, or at a step whose state is not finite: go back to the last good state.
        if in_step or not st.finite():
            assert st.good is not None
            st.restore(st.good)
        detail = ""
        if self.config is not None and self.config.on_interrupt:
            if self.dist:
                log.warning("interrupted under torchrun: no checkpoint written (use the periodic ones)")
            else:
                try:
                    self.checkpoints.write_periodic()
                except CheckpointError as exc:  # the trained state is still returned
                    detail = f"the checkpoint on interrupt was not written: {exc}"
                    log.error("interrupted at step %d: %s", st.loop.step, detail)
        if self.is_main:
            log.warning("interrupted at step %d; returning the last completed step", st.loop.step)
        self.record_outcome(StopReason.INTERRUPTED, detail)
        st.loop.stop_detail = detail
        return StopReason.INTERRUPTED


class sigint_flag:  # noqa: N801 - used as a context manager
    """First Ctrl-C: finish the current step, then stop (``requested`` turns True); second
    Ctrl-C: stop at once."""

    def __init__(self) -> None:
        self.requested = False
        self.previous: Any = None

    def __enter__(self) -> sigint_flag:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self
        self.previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
            log.warning("Ctrl-C: stopping after this step (press again to stop at once)")

        signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        self.requested = False
