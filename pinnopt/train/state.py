"""The trainer's full state: in-memory snapshots for the divergence guard, and checkpoints.

One function captures everything a run needs to continue exactly: model, optimizer (L-BFGS
memory included), learning-rate schedule state, batching position and indices, the
batching generator and the global RNG states, point sets (hooks may have replaced them),
hook and objective state, stopping state, counters and history. The in-memory snapshot
taken at each clean check point keeps tensors on the device; a checkpoint file holds the
same content on the CPU plus the full history and the guard's last good snapshot, so that
a resumed run is bit-for-bit the run that was interrupted.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import CheckpointError
from ..losses import PointSet
from . import checkpoint as ckpt
from . import distributed as ddp
from .batching import steps_per_epoch
from .lbfgs import LBFGSOptimizer
from .outcome import PhaseOutcome, Signal
from .stop import StopReason
from .trees import clone_tree, to_device

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

log = logging.getLogger("pinnopt.train")

_LOCAL = ("points", "stream", "generator")
"""State that differs between data-parallel ranks."""


class Restart(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Internal: an earlier state was restored; the run loop continues from it."""


class StateMixin:
    """Capture, restore, save and load the state of a :class:`~pinnopt.train.Trainer`."""

    # -- capture and restore --------------------------------------------------------------------
    def _capture(self: Trainer, *, full: bool) -> dict[str, Any]:  # type: ignore[misc]
        opt = self._opt
        if opt is None:
            opt_state = None
        elif isinstance(opt, LBFGSOptimizer):
            opt_state = opt.state_dict()
        else:
            opt_state = clone_tree(opt.state_dict())
        phase = self.phases[self.phase_index] if self.phase_index < len(self.phases) else None
        sig = self._signal
        state: dict[str, Any] = {
            "counters": {
                "step": self.step,
                "evaluations": self.evaluations,
                "epoch": self.epoch,
                "phase_index": self.phase_index,
                "phase_step": self.phase_step,
                "phase_total": self._phase_total,
                "phase_epochs": self._phase_epochs,
                "checked_rows": self._checked_rows,
                "epoch_start_row": self._epoch_start_row,
                "lr_scale": self.lr_scale,
                "elapsed": self.elapsed(),
                "history_rows": self.history.rows,
            },
            "phase_status": self._phase_status.name if self._phase_status else None,
            "signal": None
            if sig is None
            else {"reason": sig.reason.name, "run": sig.run, "detail": sig.detail},
            "phase_start": list(self._phase_start),
            "pending_epochs": [list(e) for e in self._pending_epochs],
            "stop_detail": self._stop_detail,
            "outcomes": [
                {
                    "name": o.name,
                    "steps": o.steps,
                    "evaluations": o.evaluations,
                    "reason": o.reason.name,
                    "wall_time_s": o.wall_time_s,
                    "detail": o.detail,
                }
                for o in self._outcomes
            ],
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": opt_state,
            "schedule": clone_tree(self._sched_state),
            "stream": self._stream.state_dict() if self._stream is not None else None,
            "generator": self.generator.get_state(),
            "points": {n: {"x": ps.x, "data": dict(ps.data)} for n, ps in self.points.items()},
            "objective": clone_tree(self.objective.state_dict()),
            "hooks": [clone_tree(h.state_dict()) for h in self.hooks],
            "stop": self.stop.state_dict() if self.stop is not None else None,
            "phase_stop": phase.stop.state_dict() if phase is not None and phase.stop is not None else None,
            "rng": ckpt.rng_state(),
        }
        if full:
            state["history"] = self.history.state_dict()
        return state

    def _snapshot(self: Trainer) -> None:  # type: ignore[misc]
        """Remember the current state as the last good one (called at clean check points)."""
        self.history.flush()
        self._good = self._capture(full=False)

    def _restore(self: Trainer, state: dict[str, Any]) -> None:  # type: ignore[misc]
        """Return to a captured state (from memory, or from a file already on the device)."""

        c = state["counters"]
        self.step, self.evaluations, self.epoch = int(c["step"]), int(c["evaluations"]), int(c["epoch"])
        self.phase_index, self.phase_step = int(c["phase_index"]), int(c["phase_step"])
        self._phase_total, self._phase_epochs = int(c["phase_total"]), int(c["phase_epochs"])
        self._checked_rows, self._epoch_start_row = int(c["checked_rows"]), int(c["epoch_start_row"])
        self.lr_scale = float(c["lr_scale"])
        self._phase_status = StopReason[state["phase_status"]] if state["phase_status"] else None
        sig = state["signal"]
        self._signal = (
            None if sig is None else Signal(StopReason[sig["reason"]], bool(sig["run"]), sig["detail"])
        )
        s0, e0, t0 = state["phase_start"]
        self._phase_start = (int(s0), int(e0), float(t0))
        self._pending_epochs = [tuple(int(v) for v in e) for e in state["pending_epochs"]]  # type: ignore[misc]
        self._stop_detail = state["stop_detail"]
        self._outcomes = [
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
        phase = self.phases[self.phase_index] if self.phase_index < len(self.phases) else None
        if phase is not None and phase.stop is not None and state["phase_stop"] is not None:
            phase.stop.load_state_dict(state["phase_stop"])
        if "history" in state:
            self.history.load_state_dict(state["history"])
        else:
            self.history.discard_pending()
            self.history.truncate(int(c["history_rows"]))
        ckpt.set_rng_state(state["rng"])
        self.generator.set_state(state["generator"].cpu())
        self._sched_state = clone_tree(state["schedule"])
        self._lr_set = None
        self._grad_ok = None
        if state["optimizer"] is None or phase is None:
            self._opt, self._stream = None, None
            return
        self._start_phase(phase, fresh=False)
        if isinstance(self._opt, LBFGSOptimizer):
            self._opt.load_state_dict(state["optimizer"])
        else:
            self._opt.load_state_dict(clone_tree(state["optimizer"]))  # type: ignore[union-attr]
        assert self._stream is not None
        self._stream.load_state_dict(state["stream"], self.points)

    # -- checkpoints ------------------------------------------------------------------------------
    def _meta(self: Trainer) -> dict[str, Any]:  # type: ignore[misc]
        return {
            "phases": [p.name for p in self.phases],
            "phase_reprs": [repr(p) for p in self.phases],
            "terms": list(self.objective.names),
            "world_size": self.dist.world_size if self.dist else 1,
            "dtype": str(self._params[0].dtype).replace("torch.", ""),
            "torch": str(torch.__version__),
            "step": self.step,
            "run_id": self.run_id,
            "fingerprint": self.identity.to_dict() if self.identity is not None else None,
        }

    def state_dict(self: Trainer) -> dict[str, Any]:  # type: ignore[misc]
        """The checkpoint payload: CPU tensors and plain data only (``weights_only``-safe).

        Under data-parallel training this is a collective call (every rank must make it).
        """
        self.history.flush()
        payload: dict[str, Any] = {
            "format": ckpt.FORMAT,
            "meta": self._meta(),
            "state": ckpt.to_cpu(self._capture(full=True)),
            "good": ckpt.to_cpu(self._good) if self._good is not None else None,
            "retries": self._retries,
        }
        if self.dist:
            local = {
                "state": {k: payload["state"][k] for k in _LOCAL},
                "good": {k: payload["good"][k] for k in _LOCAL} if payload["good"] else None,
            }
            payload["ranks"] = ddp.gather(local, self.dist)
        return payload

    def load_state_dict(self: Trainer, payload: dict[str, Any]) -> None:  # type: ignore[misc]
        """Continue from a checkpoint payload (see :meth:`state_dict`)."""
        if not isinstance(payload, dict) or payload.get("format") != ckpt.FORMAT:
            raise CheckpointError(f"not a pinnopt checkpoint (expected format {ckpt.FORMAT})")
        meta = payload["meta"]
        mine = self._meta()
        self._check_identity(meta)
        for key in ("phases", "terms", "world_size", "dtype"):
            if meta[key] != mine[key]:
                raise CheckpointError(
                    f"the checkpoint was written for {key} {meta[key]!r}; this run has {mine[key]!r}"
                )
        if meta["phase_reprs"] != mine["phase_reprs"] and self.is_main:
            log.warning(
                "resuming with phase settings that differ from the checkpoint's: %s", mine["phase_reprs"]
            )
        state, good = payload["state"], payload["good"]
        if "ranks" in payload:
            rank = self.dist.rank if self.dist else 0
            local = payload["ranks"][rank]
            state = {**state, **local["state"]}
            good = {**good, **local["good"]} if good is not None else None
        keep = ("rng", "generator", "history")
        state = {k: (v if k in keep else to_device(v, self.device)) for k, v in state.items()}
        self._restore(state)
        self._good = (
            {k: (v if k in keep else to_device(v, self.device)) for k, v in good.items()} if good else None
        )
        if meta["phase_reprs"] != mine["phase_reprs"] and self._opt is not None:
            phase = self.phases[self.phase_index]  # e.g. more steps than before: honour the new budget
            epochs = getattr(phase, "epochs", None)
            if epochs is not None:
                spe = steps_per_epoch(self._stream.spec, [len(self.points[n]) for n in self._stream.names])
                self._phase_total = epochs * spe
            else:
                self._phase_total = phase.steps
        self._retries = int(payload["retries"])
        self.run_id = str(meta.get("run_id") or self.run_id)  # a resumed run keeps its files' id
        self._elapsed0 = float(state["counters"]["elapsed"])
        self._resumed = True
        if self.is_main:
            log.info(
                "resumed at step %d (phase %d, step %d in phase)",
                self.step,
                self.phase_index,
                self.phase_step,
            )

    def save_checkpoint(self: Trainer, path: str | os.PathLike[str]) -> Path | None:  # type: ignore[misc]
        """Write a checkpoint of the current state to ``path`` (rank 0 only; atomic)."""
        payload = self.state_dict()
        if not self.is_main:
            return None
        return ckpt.save_atomic(payload, path)

    def _check_identity(self: Trainer, meta: dict[str, Any]) -> None:  # type: ignore[misc]
        """Refuse a checkpoint of another run; remember the settings that changed."""
        self.resume_changes = {}
        recorded = meta.get("fingerprint")
        if self.identity is None:
            return
        if not recorded:
            log.warning("the checkpoint records no run fingerprint (older pinnopt): cannot verify it")
            return
        diff = self.identity.differences(recorded)
        if diff:
            raise CheckpointError(
                "the checkpoint was written by another run (fingerprint "
                f"{recorded.get('hash')}, this run {self.identity.hash}); fields that differ "
                f"(checkpoint -> this run): {'; '.join(diff)}"
            )
        self.resume_changes = self.identity.changed_settings(recorded)
        if self.resume_changes and self.is_main:
            log.info("resuming with changed settings: %s", sorted(self.resume_changes))

    def load_checkpoint(self: Trainer, path: str | os.PathLike[str]) -> Path:  # type: ignore[misc]
        """Continue from a checkpoint file, or from the newest checkpoint of a folder.

        A folder may hold the checkpoints of several runs: the most recently written run whose
        fingerprint matches this run's is continued; when none matches, the error lists the
        fields that differ from the most recent one. Returns the file loaded.
        """
        p = Path(path)
        candidates = [files[-1] for files in ckpt.runs_in(p)] if p.is_dir() else []
        if len(candidates) > 1 and self.identity is not None:
            for file in candidates:
                payload = ckpt.load(file)
                recorded = payload.get("meta", {}).get("fingerprint") or {}
                if recorded.get("hash") == self.identity.hash:
                    self.load_state_dict(payload)
                    return file
        file = ckpt.resolve(path)
        try:
            self.load_state_dict(ckpt.load(file))
        except CheckpointError as exc:
            others = f" (none of the {len(candidates)} runs in {p} matches)" if len(candidates) > 1 else ""
            raise CheckpointError(f"{file}: {exc}{others}") from exc
        return file

    def _finite_for_checkpoint(self: Trainer) -> bool:  # type: ignore[misc]
        self.history.flush()
        rows = self.history.rows_since(self._checked_rows)
        flags = [torch.isfinite(p).all() for p in self._params]
        if self._grad_ok is not None:
            flags.append(self._grad_ok)
        return bool(np.isfinite(rows).all()) and bool(torch.stack(flags).all())

    def _write_checkpoint(self: Trainer) -> Path | None:  # type: ignore[misc]
        """The periodic checkpoint (never of a non-finite state)."""
        assert self.checkpoint is not None
        if not self._finite_for_checkpoint():
            if self.is_main:
                log.warning(
                    "step %d: non-finite state, checkpoint skipped (the divergence guard acts at the next "
                    "check point)",
                    self.step,
                )
            return None
        path = self.save_checkpoint(self.checkpoint.path(self.step, self.run_id))
        if path is not None:
            ckpt.prune(self.checkpoint.dir, self.checkpoint.keep, self.run_id)
            log.debug("checkpoint written: %s", path)
        return path
