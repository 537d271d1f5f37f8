"""Check points: the divergence guard, stopping decisions, logging, and interruptions.

Everything here may read values from the device; the trainer calls it only at check points
(see :mod:`pinnopt.train.trainer`), never inside a step.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from . import distributed as ddp
from .lbfgs import LBFGSOptimizer
from .nonfinite import describe_nonfinite
from .outcome import PhaseOutcome, Signal
from .state import Restart
from .stop import StopReason
from .stopping import Observation, describe_stop

if TYPE_CHECKING:  # pragma: no cover
    from .phases import Phase
    from .trainer import Trainer

log = logging.getLogger("pinnopt.train")

_REASONS = list(StopReason)


class CheckMixin:
    """Check-point behaviour of :class:`~pinnopt.train.Trainer`."""

    def _check(self: Trainer) -> Signal | None:
        """Flush, guard against NaN/Inf, feed schedules and criteria, log; snapshot if clean."""
        self.history.flush()
        rows = self.history.rows_since(self._checked_rows)
        bad = not bool(np.isfinite(rows).all()) or not self._finite_now()
        if self.dist:
            bad = ddp.broadcast_codes([float(bad)], self.device)[0] > 0
        if bad:
            return self._diverge("non-finite loss, gradient or parameters" + self._non_finite_terms(rows))
        self._checked_rows = len(self.history)
        elapsed = self.elapsed()
        loss = self.history.loss
        observations = []
        for epoch, start, end, step in self._pending_epochs:
            cost = float(loss[start:end].mean())
            observations.append(Observation(step, epoch, cost, elapsed, False))
        self._pending_epochs = []
        if observations and observations[-1].step == self.step:
            last = observations.pop()
            live = Observation(last.step, last.epoch, last.cost, elapsed, True, self)
        else:
            live = Observation(self.step, self.epoch, None, elapsed, True, self)
        observations.append(live)
        phase = self.phases[self.phase_index] if self.phase_index < len(self.phases) else None
        schedule = getattr(phase, "schedule", None)
        if schedule is not None:
            for obs in observations:
                if obs.cost is not None:
                    schedule.observe(self._sched_state, obs.cost)
        sig = self._decide(observations, phase)
        if self.is_main and len(rows):
            self._report(rows[-1], phase)
        self._snapshot()
        return sig

    def _decide(self: Trainer, observations: list[Observation], phase: Phase | None) -> Signal | None:
        found: Signal | None = None
        for crit, run in ((self.stop, True), (getattr(phase, "stop", None), False)):
            if crit is None:
                continue
            for obs in observations:
                if crit.observe(obs):
                    leaves = crit.fired()
                    if found is None or (run and not found.run):
                        found = Signal(leaves[0].reason, run, describe_stop(leaves))
                        for leaf in leaves:
                            leaf.on_stop(self)
                    break
        if self.dist:
            code = -1.0 if found is None else float(_REASONS.index(found.reason) + (1000 if found.run else 0))
            code = ddp.broadcast_codes([code], self.device)[0]
            if code < 0:
                return None
            run = code >= 1000
            return Signal(_REASONS[int(code) - (1000 if run else 0)], run, found.detail if found else "")
        return found

    def _non_finite_terms(self: Trainer, rows: np.ndarray) -> str:
        """``" (non-finite terms: ...)"`` naming the loss terms that went NaN or Inf, or ``""``."""
        if not len(rows):
            return ""
        names = self.history.term_names
        bad = [n for n, ok in zip(names, np.isfinite(rows[:, 1:]).all(axis=0), strict=False) if not ok]
        if not bad:
            return ""
        kinds = {t.name: t for t in self.objective.terms}
        barriers = [n for n in bad if hasattr(kinds.get(n), "set_m")]  # barrier terms of bounds
        hint = f"; barrier {', '.join(barriers)}: check its slack, or lower m or cap" if barriers else ""
        return f" (non-finite terms: {', '.join(bad)}{hint})"

    def _finite_now(self: Trainer) -> bool:
        flags = [torch.isfinite(p).all() for p in self._params]
        if self._grad_ok is not None:
            flags.append(self._grad_ok)
            self._grad_ok = None
        return bool(torch.stack(flags).all())

    def _report(self: Trainer, row: np.ndarray, phase: Phase | None) -> None:
        name = phase.name if phase is not None else ""
        log.info("step %6d  loss %.4e  %s", self.step, row[0], name)
        self._bar.update(self.step, float(row[0]), [float(v) for v in row[1:]], name)

    # -- divergence and interruption -----------------------------------------------------------
    def _diverge(self: Trainer, what: str) -> Signal:
        """Restore the last good state; retry with a lower learning rate, or stop.

        When the restored state itself has a non-finite loss or gradient (a term undefined
        at the initial network, say), retries cannot help: stop at once with
        :attr:`StopReason.NOT_FINITE`, naming the terms and the points.
        """
        assert self._good is not None
        self._restore(self._good)
        where = describe_nonfinite(self.objective, self.model, self.points, self.coordinates)
        if self.dist:
            found = [w for w in ddp.gather(where, self.dist) if w]
            where = found[0] if found else None
        if where is not None:
            when = (
                "at initialization (step 0, before any update)"
                if self.step == 0
                else f"at step {self.step} (the last finite check point)"
            )
            detail = (
                f"{what}; the restored state is not finite {when}: {where}; no retries (they cannot help)"
            )
            if self.is_main:
                log.error("%s", detail)
            return Signal(StopReason.NOT_FINITE, True, detail)
        self._retries += 1
        if self._retries > self.guard.max_retries:
            detail = f"{what}; gave up after {self.guard.max_retries} retries at step {self.step}"
            if self.is_main:
                log.warning("divergence: %s", detail)
            return Signal(StopReason.DIVERGED, True, detail)
        self.lr_scale *= self.guard.factor
        if isinstance(self._opt, LBFGSOptimizer):
            phase = self.phases[self.phase_index]
            self._opt.lr = phase.lr * self.lr_scale  # type: ignore[attr-defined]
        if self.is_main:
            log.warning(
                "divergence (%s): restored step %d, learning rate x%g (retry %d of %d)",
                what,
                self.step,
                self.lr_scale,
                self._retries,
                self.guard.max_retries,
            )
        raise Restart

    def _record_outcome(self: Trainer, reason: StopReason, detail: str = "") -> PhaseOutcome | None:
        """Append the outcome of the current phase."""
        if self.phase_index >= len(self.phases):
            return None
        phase = self.phases[self.phase_index]
        s0, e0, t0 = self._phase_start
        outcome = PhaseOutcome(
            phase.name, self.step - s0, self.evaluations - e0, reason, self.elapsed() - t0, detail
        )
        self._outcomes.append(outcome)
        return outcome

    def _interrupted(self: Trainer) -> StopReason:
        # Inside a step, or at a step whose state is not finite: go back to the last good state.
        if self._in_step or not self._finite_for_checkpoint():
            assert self._good is not None
            self._restore(self._good)
        self._in_step = False
        if self.checkpoint is not None and self.checkpoint.on_interrupt:
            if self.dist:
                log.warning("interrupted under torchrun: no checkpoint written (use the periodic ones)")
            else:
                self._write_checkpoint()
        if self.is_main:
            log.warning("interrupted at step %d; returning the last completed step", self.step)
        self._record_outcome(StopReason.INTERRUPTED)
        return StopReason.INTERRUPTED


class sigint_flag:  # noqa: N801 - used as a context manager
    """First Ctrl-C: finish the current step, then stop; second Ctrl-C: stop at once."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.previous: Any = None

    def __enter__(self) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        self.previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self.trainer._sigint:
                raise KeyboardInterrupt
            self.trainer._sigint = True
            log.warning("Ctrl-C: stopping after this step (press again to stop at once)")

        signal.signal(signal.SIGINT, handler)

    def __exit__(self, *exc: Any) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        self.trainer._sigint = False
