"""Checkpoint payloads: what a checkpoint file holds, and the checks made when resuming.

The trainer captures its state (:class:`~pinnopt.train.state.RunState`); the functions
here wrap it with the run's description (``meta``), split and merge the per-rank parts of a
data-parallel run, refuse a checkpoint of another run, and pick the file to continue from.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from . import checkpoint as ckpt
from . import distributed as ddp
from .distributed import DistributedContext
from .identity import RunIdentity
from .trees import to_device

log = logging.getLogger("pinnopt.train")

_LOCAL = ("points", "stream", "generator")
"""State that differs between data-parallel ranks."""
_KEEP = ("rng", "generator", "history")
"""State that stays on the CPU when a checkpoint is loaded."""


def meta(
    phases: Sequence[Any],
    terms: Sequence[str],
    world: int,
    dtype: torch.dtype,
    step: int,
    run_id: str,
    identity: RunIdentity | None,
) -> dict[str, Any]:
    """The run's description stored next to its state."""
    return {
        "phases": [p.name for p in phases],
        "phase_reprs": [repr(p) for p in phases],
        "terms": list(terms),
        "world_size": world,
        "dtype": str(dtype).replace("torch.", ""),
        "torch": str(torch.__version__),
        "step": step,
        "run_id": run_id,
        "fingerprint": identity.to_dict() if identity is not None else None,
    }


def build(
    meta: dict[str, Any],
    state: dict[str, Any],
    good: dict[str, Any] | None,
    retries: int,
    dist: DistributedContext | None,
) -> dict[str, Any]:
    """The checkpoint payload (CPU tensors and plain data); a collective call under DDP."""
    payload: dict[str, Any] = {
        "format": ckpt.FORMAT,
        "meta": meta,
        "state": ckpt.to_cpu(state),
        "good": ckpt.to_cpu(good) if good is not None else None,
        "retries": retries,
    }
    if dist:
        local = {
            "state": {k: payload["state"][k] for k in _LOCAL},
            "good": {k: payload["good"][k] for k in _LOCAL} if payload["good"] else None,
        }
        payload["ranks"] = ddp.gather(local, dist)
    return payload


def unpack(
    payload: Any,
    mine: dict[str, Any],
    identity: RunIdentity | None,
    rank: int,
    device: torch.device,
    log_it: bool,
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, dict[str, str]]]:
    """Check a payload against this run (``mine``: this run's :func:`meta`); return this
    rank's state and last good state on ``device``, and the settings that changed."""
    if not isinstance(payload, dict) or payload.get("format") != ckpt.FORMAT:
        raise CheckpointError(f"not a pinnopt checkpoint (expected format {ckpt.FORMAT})")
    recorded = payload["meta"]
    changes = check_identity(identity, recorded, log_it)
    for key in ("phases", "terms", "world_size", "dtype"):
        if recorded[key] != mine[key]:
            raise CheckpointError(
                f"the checkpoint was written for {key} {recorded[key]!r}; this run has {mine[key]!r}"
            )
    # with a run identity, the phases' settings were compared above (budgets and stopping
    # criteria may change, and are reported as changed settings); without one, say so here
    if identity is None and recorded["phase_reprs"] != mine["phase_reprs"] and log_it:
        log.warning("resuming with phase settings that differ from the checkpoint's: %s", mine["phase_reprs"])
    state, good = payload["state"], payload["good"]
    if "ranks" in payload:
        local = payload["ranks"][rank]
        state = {**state, **local["state"]}
        good = {**good, **local["good"]} if good is not None else None
    state = {k: (v if k in _KEEP else to_device(v, device)) for k, v in state.items()}
    good = {k: (v if k in _KEEP else to_device(v, device)) for k, v in good.items()} if good else None
    return state, good, changes


def check_identity(
    identity: RunIdentity | None, recorded_meta: dict[str, Any], log_it: bool
) -> dict[str, dict[str, str]]:
    """Refuse a checkpoint of another run; return the settings that changed."""
    recorded = recorded_meta.get("fingerprint")
    if identity is None:
        return {}
    if not recorded:
        log.warning("the checkpoint records no run fingerprint (older pinnopt): cannot verify it")
        return {}
    diff = identity.differences(recorded)
    if diff:
        raise CheckpointError(
            "the checkpoint was written by another run (fingerprint "
            f"{recorded.get('hash')}, this run {identity.hash}); fields that differ "
            f"(checkpoint -> this run): {'; '.join(diff)}"
        )
    changes = identity.changed_settings(recorded)
    if changes and log_it:
        log.info("resuming with changed settings: %s", sorted(changes))
    return changes


def candidates(path: Path, identity: RunIdentity | None) -> tuple[list[Path], tuple[Path, Any] | None]:
    """The newest checkpoint of each run in a folder, and the (file, payload) of the most
    recently written run whose fingerprint matches ``identity`` (None when none matches or
    there is nothing to choose from)."""
    files = [runs[-1] for runs in ckpt.runs_in(path)] if path.is_dir() else []
    if len(files) > 1 and identity is not None:
        for file in files:
            payload = ckpt.load(file)
            recorded = payload.get("meta", {}).get("fingerprint") or {}
            if recorded.get("hash") == identity.hash:
                return files, (file, payload)
    return files, None


class Checkpointer:
    """Writes and reads the checkpoints of one run (a collaborator of the trainer).

    Args:
        state: the run's live state.
        phases: the run's phases (their names and settings are stored and compared).
        terms: the objective's term names.
        dtype: the parameters' dtype.
        dist: this rank's place in a data-parallel run (None: a single process).
        identity: what defines the run (checked on resume).
        config: the periodic checkpoint settings (None: only explicit saves).
    """

    def __init__(
        self,
        state: Any,
        phases: Sequence[Any],
        terms: Sequence[str],
        dtype: torch.dtype,
        dist: DistributedContext | None,
        identity: RunIdentity | None,
        config: ckpt.Checkpoint | None,
    ) -> None:
        self.state, self.phases, self.terms, self.dtype = state, phases, terms, dtype
        self.dist, self.identity, self.config = dist, identity, config
        self.run_id = ckpt.new_run_id()
        self.resume_changes: dict[str, dict[str, str]] = {}
        self.elapsed0 = 0.0
        """Wall time recorded by the loaded checkpoint (0 for a fresh run)."""
        self.resumed = False

    @property
    def is_main(self) -> bool:
        return self.dist is None or self.dist.is_main

    def meta(self) -> dict[str, Any]:
        """This run's description."""
        world = self.dist.world_size if self.dist else 1
        step = self.state.loop.step
        return meta(self.phases, self.terms, world, self.dtype, step, self.run_id, self.identity)

    def payload(self) -> dict[str, Any]:
        """The checkpoint payload (a collective call under DDP)."""
        st = self.state
        st.history.flush()
        return build(self.meta(), st.capture(full=True), st.good, st.retries, self.dist)

    def load(self, payload: Any) -> None:
        """Continue from a checkpoint payload."""
        self.resume_changes = {}
        mine, st = self.meta(), self.state
        rank = self.dist.rank if self.dist else 0
        state, good, self.resume_changes = unpack(payload, mine, self.identity, rank, st.device, self.is_main)
        st.restore(state)
        st.good = good
        recorded = payload["meta"]
        if recorded["phase_reprs"] != mine["phase_reprs"] and st.runner is not None:
            # e.g. more steps than before: honour the new budget
            st.loop.phase_total = st.runner.total_steps(st.points)
        st.retries = int(payload["retries"])
        self.run_id = str(recorded.get("run_id") or self.run_id)  # a resumed run keeps its files' id
        self.elapsed0 = float(state["counters"]["elapsed"])
        self.resumed = True
        if self.is_main:
            loop = st.loop
            log.info(
                "resumed at step %d (phase %d, step %d in phase)",
                loop.step,
                loop.phase_index,
                loop.phase_step,
            )

    def save(self, path: str | os.PathLike[str]) -> Path | None:
        """Write a checkpoint to ``path`` (rank 0 only; atomic)."""
        payload = self.payload()
        if not self.is_main:
            return None
        return ckpt.save_atomic(payload, path)

    def load_file(self, path: str | os.PathLike[str]) -> Path:
        """Continue from a checkpoint file or the newest matching checkpoint of a folder."""
        p = Path(path)
        files, match = candidates(p, self.identity)
        if match is not None:
            self.load(match[1])
            return match[0]
        file = ckpt.resolve(path)
        try:
            self.load(ckpt.load(file))
        except CheckpointError as exc:
            others = f" (none of the {len(files)} runs in {p} matches)" if len(files) > 1 else ""
            raise CheckpointError(f"{file}: {exc}{others}") from exc
        return file

    def write_periodic(self) -> Path | None:
        """The periodic (or on-interrupt) checkpoint, never of a non-finite state."""
        assert self.config is not None
        step = self.state.loop.step
        if not self.state.finite():
            if self.is_main:
                log.warning(
                    "step %d: non-finite state, checkpoint skipped (the divergence guard acts at the next "
                    "check point)",
                    step,
                )
            return None
        path = self.save(self.config.path(step, self.run_id))
        if path is not None:
            ckpt.prune(self.config.dir, self.config.keep, self.run_id)
            log.debug("checkpoint written: %s", path)
        return path
