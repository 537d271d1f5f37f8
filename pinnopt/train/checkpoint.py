"""Checkpoints: atomic, safe-to-load snapshots of a training run at step boundaries.

A checkpoint holds only tensors, numbers, strings, lists and dicts, so loading uses
``torch.load(weights_only=True)`` and never unpickles arbitrary objects. Files are written
to a temporary name in the same folder and renamed into place, so a crash while writing
never leaves a truncated checkpoint.
"""

from __future__ import annotations

import io
import logging
import os
import random
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError, PinnoptError

log = logging.getLogger("pinnopt.train")

FORMAT = "pinnopt.checkpoint/1"
_NAME = re.compile(r"^step-(\d+)(?:-([0-9a-f]+))?\.pt$")
_TMP = re.compile(r"^\..+\.(\d+)(?:\.[^.]*)?\.tmp$")


@dataclass(frozen=True)
class Checkpoint:
    """Where and how often to checkpoint a run.

    Args:
        dir: folder for the checkpoint files (``step-000000500-<run id>.pt``...), created if
            missing. Several runs may share a folder: each run's files carry its run id. A
            folder that cannot be created or written is refused (``ConfigError``) when the run
            starts, before its first step; a write that fails later (disk full) raises a
            ``CheckpointError`` naming the folder, except on Ctrl-C, where the interrupted
            run's result is still returned and its ``stop_detail`` says why no checkpoint
            was written.
        every: write one every this many steps (at a step boundary).
        keep: keep only the newest ``keep`` files of the run (0 keeps all); files of other
            runs are never touched.
        on_interrupt: also write one when the run is interrupted (Ctrl-C).
    """

    dir: str | os.PathLike[str]
    every: int = 500
    keep: int = 3
    on_interrupt: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.dir, (str, os.PathLike)) or not str(self.dir):
            raise ConfigError(f"Checkpoint(dir={self.dir!r}): expected a folder path")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ConfigError(f"Checkpoint(every={self.every!r}): expected an int >= 1")
        if isinstance(self.keep, bool) or not isinstance(self.keep, int) or self.keep < 0:
            raise ConfigError(f"Checkpoint(keep={self.keep!r}): expected an int >= 0 (0 keeps all)")

    def prepare(self) -> Path:
        """Create the folder if needed and make sure files can be written there (called when
        a run starts, before its first step, so a bad folder costs no training).

        Raises:
            ConfigError: naming the folder and the reason (a file of that name, a path under a
                file, no permission, a read-only file system).
        """
        return writable_folder(self.dir, "checkpoint folder")

    def path(self, step: int, run_id: str = "") -> Path:
        """The file of the checkpoint of run ``run_id`` at ``step``."""
        tail = f"-{run_id}" if run_id else ""
        return Path(self.dir) / f"step-{step:09d}{tail}.pt"


def new_run_id() -> str:
    """A fresh run id (8 hex digits) for the file names of a new run."""
    return secrets.token_hex(4)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return pid < 2**22  # exists (another user's), or not a pid at all
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files (``.NAME.<pid>.<random>.tmp``) left by writers that died.

    A file whose writing process is still running on this machine is left alone. Returns
    the removed files.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if m and not _alive(int(m.group(1))):
            try:
                p.unlink()
                removed.append(p)
            except OSError:  # gone already, or not ours to delete
                continue
    if removed:
        log.info("removed %d stale temporary file(s) in %s", len(removed), folder)
    return removed


def writable_folder(
    directory: str | os.PathLike[str], what: str = "folder", error: type[PinnoptError] = ConfigError
) -> Path:
    """Create ``directory`` if needed and make sure files can be written there.

    Args:
        directory: the folder.
        what: what the folder is, for messages (``"output folder"``).
        error: the exception raised.

    Raises:
        error: ``"<what> <directory> is not writable (<reason>)"``.
    """
    path = Path(directory)
    blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        where = "a file of that name exists" if blocking == path else f"{blocking} is a file"
        raise error(f"{what} {path} is not writable ({where}; expected a folder)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".pinnopt-write-test")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise error(f"{what} {path} is not writable ({_reason(exc)})") from exc
    return path


def _reason(exc: OSError) -> str:
    """The OS's reason (``Permission denied``, ``No space left on device``)."""
    return exc.strerror or str(exc)


def save_atomic(payload: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``payload`` with ``torch.save`` to a temporary file, then rename it into place.

    Temporary files left in the folder by writers that were killed are removed first.

    Raises:
        CheckpointError: naming the file, its folder and the reason when the folder cannot be
            created or the file cannot be written (no permission, disk full); no partial file
            is left behind.
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(payload, buffer)  # serialized first: only the writing below meets the file system
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(buffer.getbuffer())
        os.replace(tmp, path)
    except OSError as exc:
        raise CheckpointError(
            f"cannot write {path.name} in folder {path.parent} ({_reason(exc)}); expected a writable "
            "folder with free space"
        ) from exc
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def run_id_of(path: str | os.PathLike[str]) -> str:
    """The run id in a checkpoint file name (``""`` for the unnamed files of old versions)."""
    m = _NAME.match(Path(path).name)
    return (m.group(2) or "") if m else ""


def checkpoints_in(folder: str | os.PathLike[str], run_id: str | None = None) -> list[Path]:
    """The checkpoint files of ``folder`` (of run ``run_id`` only, if given), oldest step first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in folder.iterdir()
        if (m := _NAME.match(p.name)) and (run_id is None or (m.group(2) or "") == run_id)
    ]
    return [p for _, p in sorted(found)]


def runs_in(folder: str | os.PathLike[str]) -> list[list[Path]]:
    """The checkpoint files of ``folder`` grouped by run, the most recently written run first.

    Each group is ordered oldest step first (its last file is the run's newest checkpoint).
    """
    groups: dict[str, list[Path]] = {}
    for p in checkpoints_in(folder):
        groups.setdefault(run_id_of(p), []).append(p)

    def written(files: list[Path]) -> int:
        return max(_mtime(p) for p in files)

    return sorted(groups.values(), key=written, reverse=True)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def prune(folder: str | os.PathLike[str], keep: int, run_id: str = "") -> None:
    """Delete all but the newest ``keep`` checkpoints of run ``run_id`` (``keep=0``: none).

    Files of other runs sharing the folder are never deleted.
    """
    if keep <= 0:
        return
    for old in checkpoints_in(folder, run_id)[:-keep]:
        old.unlink(missing_ok=True)


def resolve(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file, or the newest checkpoint of the most recently written run of a folder."""
    p = Path(path)
    if p.is_dir():
        runs = runs_in(p)
        if not runs:
            raise CheckpointError(f"resume={str(path)!r}: the folder holds no step-*.pt checkpoint")
        return runs[0][-1]
    if not p.exists():
        raise CheckpointError(f"resume={str(path)!r}: no such checkpoint file or folder")
    return p


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``) onto the CPU and check its format."""
    p = resolve(path)
    try:
        payload = torch.load(p, weights_only=True, map_location="cpu")
    except Exception as exc:  # corrupt, or holds objects we never write
        raise CheckpointError(f"{p}: not a readable pinnopt checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a pinnopt checkpoint (expected format {FORMAT})")
    return payload


def to_cpu(state: Any) -> Any:
    """A copy of a nested state with every tensor on the CPU (tuples become lists)."""
    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, dict):
        return {k: to_cpu(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [to_cpu(v) for v in state]
    return state


def has_nonfinite(state: Any) -> bool:
    """True when a floating tensor of a nested state holds NaN or Inf (synchronizes)."""
    if isinstance(state, torch.Tensor):
        return bool(state.is_floating_point() and not torch.isfinite(state).all())
    if isinstance(state, dict):
        return any(has_nonfinite(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return any(has_nonfinite(v) for v in state)
    return False


# -- random number generators -------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """The global torch (CPU and CUDA), Python and NumPy generator states."""
    version, words, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": {"version": version, "words": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "cuda": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"].cpu())
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(w) for w in py["words"].tolist()), py["gauss"]))
    nps = state["numpy"]
    np.random.set_state(
        ("MT19937", nps["keys"].numpy().astype(np.uint32), nps["pos"], nps["has_gauss"], nps["cached"])
    )
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
