"""A run folder: everything a solve produced, in files a person or a program can read.

``report.json`` (:func:`~pinnopt.validate.report.solve_report` plus the check, the plot
files and the problem's source), ``report.md`` (rendered from the JSON), the plots
(PNG), ``model.pt`` (:meth:`Result.save`; a time-march's windows in one file, read back by
``Result.load``), ``predictions.npz`` (:meth:`Result.export` on the evaluation grid) and
``history.npz`` (loss history arrays and the recorded parameter trajectories, keys
``param/<name>``), from which :func:`rerender_run` draws the plots again. ``pinnopt solve
--log csv|tensorboard`` adds ``log.csv`` or ``tensorboard/``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..declare.tables import read_npz
from ..errors import CheckpointError, ConfigError, PinnoptError
from ..result import Result
from ..train import checkpoint as ckpt
from ..train.checkpoint import remove_stale_temporaries
from . import plots
from .feasibility import feasibility
from .figures import plot_result
from .markdown import markdown_report
from .report import read_json, solve_report, write_json, write_text_atomic

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem
    from ..metrics import Validation
    from ..result import Result
    from .check import CheckReport

log = logging.getLogger("pinnopt.validate")

REPORT, MARKDOWN, MODEL, ARRAYS = "report.json", "report.md", "model.pt", "history.npz"
PREDICTIONS = "predictions.npz"
"""The predictions on the evaluation grid (coordinates and unknowns, one array each)."""
LOG_CSV, LOG_TENSORBOARD = "log.csv", "tensorboard"
"""What ``pinnopt solve --log csv`` and ``--log tensorboard`` write into the run folder."""
CHECKPOINTS = "checkpoints"
"""Sub-folder of a run folder where `pinnopt solve` writes its checkpoints."""
LOCK = ".pinnopt.lock"
"""The advisory lock file of a run folder (held while a process writes the folder)."""


def holds_run(directory: str | os.PathLike[str]) -> bool:
    """True when ``directory`` holds files of a run (report, model, history or checkpoints)."""
    path = Path(directory)
    return any((path / name).exists() for name in (REPORT, MODEL, ARRAYS, CHECKPOINTS))


def resume_source(arg: str | os.PathLike[str] | None) -> Path | None:
    """The checkpoint file or folder of ``--resume`` (a run folder's ``checkpoints``)."""
    if arg is None:
        return None
    resume = Path(arg)
    if not resume.exists():
        raise ConfigError(f"--resume {arg}: no such run folder, checkpoint folder or file")
    if (resume / CHECKPOINTS).is_dir():  # a run folder written by `pinnopt solve`
        resume = resume / CHECKPOINTS
    # refused before an output folder is created: a folder without checkpoints, a file that
    # is not one (which run of a folder matches is decided when the run is set up)
    if resume.is_dir():
        ckpt.resolve(resume)
    else:
        ckpt.load(resume)
    return resume


def _within(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def output_folder(
    out: str | os.PathLike[str] | None,
    resume: str | os.PathLike[str] | None,
    *,
    overwrite: bool,
    name: str,
) -> Path:
    """The run folder of ``pinnopt solve``, created: ``--out``, the resumed run's folder, or a
    fresh ``runs/NAME/<date-time>``.

    Raises:
        ConfigError: ``out`` holds another run and neither ``resume`` nor ``overwrite`` was
            given, or the folder cannot be created or written.
    """
    if out is not None:
        path = Path(out)
        if path.is_dir() and holds_run(path) and not overwrite:
            if resume is None:
                raise ConfigError(
                    f"--out {path} holds another run; pass --resume {path} to continue it, --overwrite "
                    "to replace it, or choose another folder (without --out every run gets a fresh one)"
                )
            if not _within(Path(resume), path):
                raise ConfigError(
                    f"--out {path} holds another run, and --resume {resume} continues a run from "
                    f"elsewhere, which would replace it; omit --out to continue in the resumed run's "
                    "folder, or choose an --out that holds no run"
                )
        return writable_folder(path)
    if resume is not None and (Path(resume) / CHECKPOINTS).is_dir():
        return writable_folder(Path(resume))  # continue in the resumed run's folder
    return writable_folder(fresh_run_folder(Path("runs") / name))


def fresh_run_folder(base: str | os.PathLike[str]) -> Path:
    """Create and return a new, empty run folder ``base/<YYYYmmdd-HHMMSS>[-k]``."""
    base = Path(base)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        path = base / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"output folder {path} cannot be created ({exc.strerror or exc})") from exc
        return path
    raise ConfigError(f"no free run folder name under {base} for {stamp}; pass --out")


@contextmanager
def discarded_on_failure(directory: str | os.PathLike[str], *, created: bool) -> Iterator[Path]:
    """Remove ``directory`` again when the body raises and the folder was ``created`` for this
    run and holds no file but the lock (a run refused while being set up leaves no folder).
    A folder holding anything else (a checkpoint, a report) is kept."""
    path = Path(directory)
    try:
        yield path
    except BaseException:
        if created and path.is_dir() and not any(p.is_file() and p.name != LOCK for p in path.rglob("*")):
            shutil.rmtree(path, ignore_errors=True)
        raise


@contextmanager
def folder_lock(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the advisory lock of a run folder (``fcntl.flock``); refuse a second writer.

    Raises:
        ConfigError: another process holds the lock (naming the folder and its process id).
    """
    path = Path(directory) / LOCK
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no advisory locks
        yield path
        return
    fh = open(path, "a+")  # noqa: SIM115 - held for the duration of the context
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise ConfigError(
                f"run folder {directory} is in use by another pinnopt process (pid {holder} holds "
                f"{path}); wait for it to finish or choose another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield path
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def clear_run(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the files of the run held by ``directory`` (for ``--overwrite``); return them.

    Only the files a run writes are touched: report, Markdown, model, history, the plots
    its report lists, and the checkpoints.
    """
    out = Path(directory)
    names = [REPORT, MARKDOWN, MODEL, ARRAYS, PREDICTIONS, LOG_CSV]
    try:
        plots = read_json(out / REPORT).get("plots")
    except PinnoptError:
        plots = None
    if isinstance(plots, dict):
        names += [v for v in plots.values() if _plain_file_name(v) and v.endswith(".png")]
    removed = [out / n for n in names if (out / n).is_file()]
    removed += ckpt.checkpoints_in(out / CHECKPOINTS)
    removed += sorted((out / LOG_TENSORBOARD).glob("events.out.tfevents.*"))
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def _plain_file_name(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and Path(name).name == name and name not in (".", "..")


def writable_folder(directory: str | os.PathLike[str]) -> Path:
    """Create ``directory`` if needed and make sure files can be written there.

    Raises:
        ConfigError: naming the folder, when it cannot be created or written.
    """
    return ckpt.writable_folder(directory, "output folder", ConfigError)


def report_run(result: Result, directory: str | os.PathLike[str], **options: Any) -> dict[str, Path]:
    """Write the run folder of ``result`` (report.json, report.md, plots, model.pt, history.npz,
    predictions.npz),
    validated against the exact (or reference) solution, or the known optimal parameters of a
    problem without unknowns, when the problem has one; return ``{kind: path}``. The report
    also holds the feasibility of the bounds and equalities (``"feasibility"``) and the robust
    report (``"robust"``) when the problem has them. For an inverse problem the report and
    ``parameters.png`` show the fitted parameters per step (``result.parameter_history``).

    ``options`` are those of :func:`write_run` (``validation=`` overrides the automatic one).
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise ConfigError(f"report_run(directory={directory!r}): expected a path (str or os.PathLike)")
    problem = result.problem
    exact = problem is not None and problem.exact_solution is not None
    known = (
        problem is not None and not problem.unknowns and any(p.exact is not None for p in problem.parameters)
    )
    if "validation" not in options and (exact or known):  # known: an optimization with a known optimum
        options["validation"] = result.validate()
    cs = problem.constraints if problem is not None else None
    constrained = cs is not None and bool(cs.inequalities or cs.equalities)
    if constrained and "feasibility" not in options:  # every bound and equality, field bounds on a dense grid
        options["feasibility"] = feasibility(result).to_dict()
    if result.robust is not None and "robust" not in options:
        options["robust"] = result.robust.as_dict()
    return write_run(result, directory, **options)


def write_run(
    result: Result,
    directory: str | os.PathLike[str],
    *,
    validation: Validation | None = None,
    check: CheckReport | None = None,
    trajectory: Mapping[str, np.ndarray] | None = None,
    source: Mapping[str, Any] | None = None,
    plots: bool = True,
    landscape: bool = False,
    **extra: Any,
) -> dict[str, Path]:
    """Write the run folder of ``result``; return ``{kind: path}`` of every file written.

    Args:
        result: the solved result.
        directory: the run folder (created; must be writable).
        validation: the validation to report (``None``: not validated).
        check: a problem check (:func:`~pinnopt.validate.check.check_problem`) to include.
        trajectory: recorded parameter values (default: ``result.parameter_history``; or
            ``ParameterRecorder.as_arrays()``).
        source: where the problem came from, for ``pinnopt report`` (``{"kind": "library",
            "name": ...}`` or ``{"kind": "file", "path": ...}``).
        plots: draw the plots.
        landscape: also draw loss landscapes and the convexity probe.
        extra: more top-level report keys.
    """
    out = writable_folder(directory)
    remove_stale_temporaries(out)
    if trajectory is None:
        trajectory = result.parameter_history
    # options that had no effect, or applied to some phases only (result.config["notes"]), first
    notes: list[str] = [*(result.config.get("notes") or []), *extra.pop("notes", [])]
    files: dict[str, Path] = {}
    figures: dict[str, Path] = {}
    if plots:
        figures = plot_result(result, out, trajectory=trajectory, landscape=landscape)
        files.update(figures)
    arrays = result.history.as_arrays() if result.history is not None else {}
    for name, values in (trajectory or {}).items():
        arrays[f"param/{name}"] = np.asarray(values)
    np.savez_compressed(out / ARRAYS, **arrays)
    files["arrays"] = out / ARRAYS
    try:
        files["model"] = result.save(out / MODEL)
    except PinnoptError as exc:
        notes.append(f"model not saved: {exc}")
    try:
        files["predictions"] = result.export(out / PREDICTIONS)
    except PinnoptError as exc:
        notes.append(f"predictions not written: {exc}")
    report = solve_report(
        result,
        validation,
        source=dict(source) if source else None,
        check=check.to_dict() if check is not None else None,
        plots={k: p.name for k, p in figures.items()},
        files={k: p.name for k, p in files.items()},
        notes=notes,
        trajectory=trajectory,
        **extra,
    )
    files["report"] = write_json(report, out / REPORT)
    files["markdown"] = write_text_atomic(out / MARKDOWN, markdown_report(report))
    return files


def rerender_run(directory: str | os.PathLike[str], *, problem: Problem | None = None) -> dict[str, Path]:
    """Draw the plots and the Markdown of a saved run folder again.

    With the ``problem`` (rebuilt from the report's ``source``), the saved model is loaded
    and every plot is drawn; without it, only the loss and parameter plots.
    """
    out = Path(directory)
    if not out.is_dir():
        raise CheckpointError(
            f"{out} is not a folder (expected a run folder written by `pinnopt solve --out`)"
        )
    report = read_json(out / REPORT)
    _check_report(report, out / REPORT)
    writable_folder(out)
    arrays = _read_arrays(out / ARRAYS) if (out / ARRAYS).exists() else {}
    history = {k: v for k, v in arrays.items() if not k.startswith("param/")}
    trajectory = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
    if trajectory and "step" not in trajectory:
        trajectory["step"] = history.get("step", np.arange(1, len(next(iter(trajectory.values()))) + 1))
    listed = report.get("phases")
    phases = [str(p.get("name")) for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []
    notes = [n for n in report.get("notes") or [] if not n.startswith("re-rendered")]
    if problem is not None and (out / MODEL).exists():
        result = Result.load(out / MODEL, problem)
        figures = plot_result(
            result, out, history=history or None, trajectory=trajectory or None, phases=phases or None
        )
    else:
        figures = {}
        if len(history.get("loss", [])):
            figures["loss"] = plots.plot_loss_history(
                history, out / "loss.png", title=f"{report.get('problem')}: loss", phases=phases or None
            )
        if trajectory and len(trajectory) > 1:
            figures["parameters"] = plots.plot_parameters(trajectory, out / "parameters.png")
        why = "no problem given" if problem is None else f"no {MODEL}"
        notes.append(f"re-rendered without the solution plots ({why})")
    old = report.get("plots") or {}
    report["plots"] = {
        **{k: v for k, v in old.items() if (out / v).is_file()},
        **{k: p.name for k, p in figures.items()},
    }
    report["notes"] = notes
    try:
        markdown = markdown_report(report)
    except (AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
        raise CheckpointError(
            f"{out / REPORT}: a field has an unexpected form ({type(exc).__name__}: {exc})"
        ) from exc
    files: dict[str, Path] = dict(figures)
    files["report"] = write_json(report, out / REPORT)
    files["markdown"] = write_text_atomic(out / MARKDOWN, markdown)
    return files


_REPORT_TYPES: dict[str, tuple[type, ...]] = {
    "problem": (str, type(None)),
    "notes": (list, type(None)),
    "plots": (dict, type(None)),
    "source": (dict, type(None)),
}


def _check_report(report: dict[str, Any], path: Path) -> None:
    """Refuse a report whose fields ``pinnopt report`` uses have the wrong types."""
    for key, types in _REPORT_TYPES.items():
        value = report.get(key)
        if not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types if t is not type(None))
            raise CheckpointError(f"{path}: field {key!r} is a {type(value).__name__}, expected a {expected}")
    if not all(isinstance(n, str) for n in report.get("notes") or []):
        raise CheckpointError(f"{path}: field 'notes' must be a list of strings")
    if not all(_plain_file_name(v) for v in (report.get("plots") or {}).values()):
        raise CheckpointError(f"{path}: field 'plots' must map plot names to file names in the folder")


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``history.npz``: 1-D numbers, the per-step ones all of one length."""
    arrays = read_npz(path, "history archive", error=CheckpointError)
    for key, values in arrays.items():
        if values.ndim != 1 or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
            raise CheckpointError(
                f"{path}: array {key!r} is {values.dtype} of shape {values.shape}, expected 1-D numbers"
            )
    if arrays and "loss" not in arrays:
        raise CheckpointError(f"{path}: no 'loss' array (expected the history written by `pinnopt solve`)")
    per_step = [k for k in arrays if k in ("loss", "step", "phase") or k.startswith("term/")]
    lengths = {k: len(arrays[k]) for k in per_step}
    if len(set(lengths.values())) > 1:
        raise CheckpointError(f"{path}: the per-step arrays differ in length: {lengths}")
    return arrays
