"""A run folder: everything a solve produced, in files a person or a program can read.

``report.json`` (:func:`~pinnopt.validate.report.solve_report` plus the check, the plot
files and the problem's source), ``report.md`` (rendered from the JSON), the plots
(PNG), ``model.pt`` (:meth:`Result.save`) and ``history.npz`` (loss history arrays and the
recorded parameter trajectories, keys ``param/<name>``), from which :func:`rerender_run`
draws the plots again.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CheckpointError, ConfigError, PinnoptError
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


def writable_folder(directory: str | os.PathLike[str]) -> Path:
    """Create ``directory`` if needed and make sure files can be written there.

    Raises:
        ConfigError: naming the folder, when it cannot be created or written.
    """
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".pinnopt-write-test")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"output folder {path} is not writable ({exc.strerror or exc})") from exc
    return path


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
        trajectory: recorded parameter values (``ParameterRecorder.as_arrays()``).
        source: where the problem came from, for ``pinnopt report`` (``{"kind": "library",
            "name": ...}`` or ``{"kind": "file", "path": ...}``).
        plots: draw the plots.
        landscape: also draw loss landscapes and the convexity probe.
        extra: more top-level report keys.
    """
    out = writable_folder(directory)
    notes: list[str] = list(extra.pop("notes", []))
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
    report = solve_report(
        result,
        validation,
        source=dict(source) if source else None,
        check=check.to_dict() if check is not None else None,
        plots={k: p.name for k, p in figures.items()},
        files={k: p.name for k, p in files.items()},
        notes=notes,
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
    from ..result import Result

    out = Path(directory)
    if not out.is_dir():
        raise CheckpointError(
            f"{out} is not a folder (expected a run folder written by `pinnopt solve --out`)"
        )
    report = read_json(out / REPORT)
    writable_folder(out)
    arrays: dict[str, np.ndarray] = {}
    if (out / ARRAYS).is_file():
        with np.load(out / ARRAYS, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    history = {k: v for k, v in arrays.items() if not k.startswith("param/")}
    trajectory = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
    if trajectory:
        trajectory["step"] = history.get("step", np.arange(1, len(next(iter(trajectory.values()))) + 1))
    notes = [n for n in report.get("notes", []) if not n.startswith("re-rendered")]
    if problem is not None and (out / MODEL).is_file():
        result = Result.load(out / MODEL, problem)
        figures = plot_result(result, out, history=history or None, trajectory=trajectory or None)
    else:
        from . import plots

        figures = {}
        if len(history.get("loss", [])):
            figures["loss"] = plots.plot_loss_history(
                history, out / "loss.png", title=f"{report.get('problem')}: loss"
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
    files: dict[str, Path] = dict(figures)
    files["report"] = write_json(report, out / REPORT)
    files["markdown"] = write_text_atomic(out / MARKDOWN, markdown_report(report))
    return files
