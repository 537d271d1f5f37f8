"""The trainer's full state: its loop counters, and in-memory snapshots for the guard.

:class:`LoopState` holds where the run stands (counters, the pending stop signal, the
outcomes so far). :class:`RunState` holds it with the point sets and the phase runner, and
captures and restores everything a run needs to continue exactly: loop state, model, the
phase runner (optimizer, schedule, batch position), the batching generator and the global
RNG states, point sets (hooks may have replaced them), hook and objective state, stopping
state and history. The in-memory snapshot taken at each clean check point keeps tensors on
the device; a checkpoint file (:mod:`pinnopt.train.resume`) holds the same content on the
CPU plus the full history and the guard's last good snapshot, so that a resumed run is
bit-for-bit the run that was interrupted.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError
from ..losses import Objective, PointSet
from . import checkpoint as ckpt
from .history import History
from .outcome import PhaseOutcome, Signal, TrainOutcome
from .runners import PhaseRunner, RunnerContext
from .stop import StopReason
from .stopping import Criterion
from .trees import clone_tree

__all__ = ["LoopState", "Restart", "RunState", "clone_tree"]


class Restart(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Internal: an earlier state was restored; the run loop continues from it."""


@dataclass
class LoopState:
    """Where a run stands: counters, the phase's stop status, the outcomes so far."""

    step: int = 0
    evaluations: int = 0
    epoch: int = 0
    phase_index: int = 0
    phase_step: int = 0
    phase_total: int = 0
    phase_epochs: int = 0
    checked_rows: int = 0
    epoch_start_row: int = 0
    lr_scale: float = 1.0
    phase_status: StopReason | None = None
    signal: Signal | None = None
    phase_start: tuple[int, int, float] = (0, 0, 0.0)
    pending_epochs: list[tuple[int, int, int, int]] = field(default_factory=list)
    stop_detail: str = ""
    outcomes: list[PhaseOutcome] = field(default_factory=list)

    def to_dict(self, elapsed: float, history_rows: int) -> dict[str, Any]:
        """Plain data (the ``counters`` ... ``outcomes`` entries of a captured state)."""
        sig = self.signal
        return {
            "counters": {
                "step": self.step,
                "evaluations": self.evaluations,
                "epoch": self.epoch,
                "phase_index": self.phase_index,
                "phase_step": self.phase_step,
                "phase_total": self.phase_total,
                "phase_epochs": self.phase_epochs,
                "checked_rows": self.checked_rows,
                "epoch_start_row": self.epoch_start_row,
                "lr_scale": self.lr_scale,
                "elapsed": elapsed,
                "history_rows": history_rows,
            },
            "phase_status": self.phase_status.name if self.phase_status else None,
            "signal": None
            if sig is None
            else {"reason": sig.reason.name, "run": sig.run, "detail": sig.detail},
            "phase_start": list(self.phase_start),
            "pending_epochs": [list(e) for e in self.pending_epochs],
            "stop_detail": self.stop_detail,
            "outcomes": [
                {
                    "name": o.name,
                    "steps": o.steps,
                    "evaluations": o.evaluations,
                    "reason": o.reason.name,
                    "wall_time_s": o.wall_time_s,
                    "detail": o.detail,
                }
                for o in self.outcomes
            ],
        }

    def outcome(self, history: History, reason: StopReason, elapsed: float, retries: int) -> TrainOutcome:
        """The run's outcome, as it stands."""
        return TrainOutcome(
            history,
            reason,
            list(self.outcomes),
            self.step,
            self.evaluations,
            elapsed,
            self.stop_detail,
            self.epoch,
            retries,
        )

    def load(self, state: Mapping[str, Any]) -> None:
        """Set every field from :meth:`to_dict`'s output."""
        c = state["counters"]
        self.step, self.evaluations, self.epoch = int(c["step"]), int(c["evaluations"]), int(c["epoch"])
        self.phase_index, self.phase_step = int(c["phase_index"]), int(c["phase_step"])
        self.phase_total, self.phase_epochs = int(c["phase_total"]), int(c["phase_epochs"])
        self.checked_rows, self.epoch_start_row = int(c["checked_rows"]), int(c["epoch_start_row"])
        self.lr_scale = float(c["lr_scale"])
        self.phase_status = StopReason[state["phase_status"]] if state["phase_status"] else None
        sig = state["signal"]
        self.signal = (
            None if sig is None else Signal(StopReason[sig["reason"]], bool(sig["run"]), sig["detail"])
        )
        s0, e0, t0 = state["phase_start"]
        self.phase_start = (int(s0), int(e0), float(t0))
        self.pending_epochs = [tuple(int(v) for v in e) for e in state["pending_epochs"]]  # type: ignore[misc]
        self.stop_detail = state["stop_detail"]
        self.outcomes = [
            PhaseOutcome(
                o["name"],
                int(o["steps"]),
                int(o["evaluations"]),
                StopReason[o["reason"]],
                float(o["wall_time_s"]),
                o["detail"],
            )
            for o in state["outcomes"]
        ]


def all_finite(rows: np.ndarray, params: Sequence[torch.Tensor], grad_ok: torch.Tensor | None) -> bool:
    """True when the history ``rows``, the parameters and the gradient flag are all finite."""
    flags = [torch.isfinite(p).all() for p in params]
    if grad_ok is not None:
        flags.append(grad_ok)
    return bool(np.isfinite(rows).all()) and bool(torch.stack(flags).all())


_RUNNER_KEYS = ("optimizer", "schedule", "stream")


class RunState:
    """The live state of a run, and how to capture and restore it.

    It holds what changes while the run goes on (:class:`LoopState`, the point sets, the
    phase runner, the last good snapshot, the gradient flag, the retries) next to the parts
    fixed for the run that a captured state covers.

    Args:
        model: the trainable module.
        objective: the objective (its state: weights, term state).
        points: the point sets.
        phases: the run's phases.
        hooks: the training hooks (each checkpointed through ``state_dict``).
        stop: the run's stopping criterion.
        history: the loss history.
        generator: the batching generator.
        device: where restored point sets go.
        context: what phase runners get (its ``index`` is set per phase).
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        points: dict[str, PointSet],
        phases: Sequence[Any],
        hooks: Sequence[Any],
        stop: Criterion | None,
        history: History,
        generator: torch.Generator,
        device: torch.device,
        context: RunnerContext,
    ) -> None:
        self.model, self.objective, self.phases, self.hooks, self.stop = model, objective, phases, hooks, stop
        self.history, self.generator, self.device = history, generator, device
        self.context = context
        self.loop = LoopState()
        self.points = points
        self.runner: PhaseRunner | None = None
        self.good: dict[str, Any] | None = None
        """The last good snapshot (taken at the last clean check point)."""
        self.grad_ok: torch.Tensor | None = None
        """Device flag: False when a clipped gradient norm was not finite since the last check."""
        self.retries = 0
        self.t0 = time.perf_counter()
        """The run's clock origin (moved back by the wall time of a resumed run)."""

    def elapsed(self) -> float:
        """Wall time of the run so far in seconds (continued across resumes)."""
        return time.perf_counter() - self.t0

    def make_runner(self, phase: Any, *, fresh: bool) -> PhaseRunner:
        """The runner of ``phase`` (the current one), started (``fresh``: the phase starts)."""
        runner = phase.runner(dataclasses.replace(self.context, index=self.loop.phase_index))
        runner.start(self.points, self.loop.lr_scale, fresh=fresh)
        return runner

    @property
    def phase(self) -> Any:
        """The phase under way (None after the last)."""
        i = self.loop.phase_index
        return self.phases[i] if i < len(self.phases) else None

    def next_phase(self) -> None:
        """Move to the next phase (the current one ended) and snapshot there."""
        loop = self.loop
        loop.phase_index += 1
        loop.phase_step = 0
        self.runner = None
        loop.phase_status = None
        loop.lr_scale = 1.0
        loop.phase_start = (loop.step, loop.evaluations, self.elapsed())
        self.snapshot()

    def note_gradient(self, ok: torch.Tensor | None) -> None:
        """Fold a step's gradient flag into :attr:`grad_ok`."""
        if ok is not None:
            self.grad_ok = ok if self.grad_ok is None else self.grad_ok & ok

    def finite(self) -> bool:
        """True when the losses since the last check, the parameters and gradients are finite."""
        self.history.flush()
        rows = self.history.rows_since(self.loop.checked_rows)
        params = [p for p in self.model.parameters() if p.requires_grad]
        return all_finite(rows, params, self.grad_ok)

    def capture(self, *, full: bool) -> dict[str, Any]:
        """Everything needed to continue; ``full`` adds the whole history (checkpoint files)."""
        runner, phase = self.runner, self.phase
        empty = {"optimizer": None, "schedule": {}, "stream": None}
        rs = runner.state_dict() if runner is not None else empty
        phase_stop = phase.stop if phase is not None else None
        state: dict[str, Any] = {
            **self.loop.to_dict(self.elapsed(), self.history.rows),
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            **{k: rs[k] for k in _RUNNER_KEYS},
            "generator": self.generator.get_state(),
            "points": {n: {"x": ps.x, "data": dict(ps.data)} for n, ps in self.points.items()},
            "objective": clone_tree(self.objective.state_dict()),
            "hooks": [clone_tree(h.state_dict()) for h in self.hooks],
            "stop": self.stop.state_dict() if self.stop is not None else None,
            "phase_stop": phase_stop.state_dict() if phase_stop is not None else None,
            "rng": ckpt.rng_state(),
        }
        if full:
            state["history"] = self.history.state_dict()
        return state

    def snapshot(self) -> None:
        """Remember the current state as the last good one (called at clean check points)."""
        self.history.flush()
        self.good = self.capture(full=False)

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to a captured state (from memory, or from a file already on the device)."""
        self.loop.load(state)
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, KeyError, TypeError) as exc:
            raise CheckpointError(
                "the checkpoint's model does not fit this run's model (another network?): "
                + " ".join(str(exc).split())
            ) from exc
        self.points = {
            n: PointSet(n, d["x"].to(self.device), {k: v.to(self.device) for k, v in d["data"].items()})
            for n, d in state["points"].items()
        }
        self.objective.load_state_dict(clone_tree(state["objective"]))
        if len(state["hooks"]) != len(self.hooks):
            raise CheckpointError(
                f"the state holds {len(state['hooks'])} hook states; the trainer has {len(self.hooks)} hooks"
            )
        for hook, hs in zip(self.hooks, state["hooks"], strict=True):
            hook.load_state_dict(clone_tree(hs))
        if self.stop is not None and state["stop"] is not None:
            self.stop.load_state_dict(state["stop"])
        phase = self.phase
        if phase is not None and phase.stop is not None and state["phase_stop"] is not None:
            phase.stop.load_state_dict(state["phase_stop"])
        if "history" in state:
            self.history.load_state_dict(state["history"])
        else:
            self.history.discard_pending()
            self.history.truncate(int(state["counters"]["history_rows"]))
        ckpt.set_rng_state(state["rng"])
        self.generator.set_state(state["generator"].cpu())
        self.grad_ok = None
        self.runner = None
        if state["optimizer"] is None or phase is None:
            return
        self.runner = self.make_runner(phase, fresh=False)
        self.runner.load_state_dict({k: state[k] for k in _RUNNER_KEYS}, self.points)
