"""JSON reports of solves and benchmarks (one layout for both)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import CheckpointError
from ..exitcodes import EXIT_CODES, EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:  # pragma: no cover
    from ..metrics import Validation
    from ..result import Result

SCHEMA = "pinnopt.report/1"


def versions() -> dict[str, str]:
    """Versions of pinnopt and the packages it computes with."""
    import scipy
    import sympy
    import torch

    return {
        "pinnopt": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sympy": sympy.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def machine() -> dict[str, Any]:
    """A short description of the machine the numbers were measured on."""
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


TRAJECTORY_ROWS = 11
"""At most this many steps of the parameter trajectory go into a report (first and last included)."""


def solve_report(
    result: Result,
    validation: Validation | None = None,
    *,
    trajectory: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The report of one solve: problem, configuration, metrics, stop reason, timings.

    Always holds ``problem``, ``metrics`` (``{unknown: {"rel_l2", "max_abs", "mse", "mape",
    ...}}``, None when not validated), ``reference`` (``"exact"`` or ``"reference"``: what
    the metrics compare with), ``stop_reason``, ``steps``, ``wall_time_s``, ``seed``,
    ``versions`` and ``device``; for an inverse problem ``parameter_trajectory``
    (``{"step": [...], name: [...]}``, at most :data:`TRAJECTORY_ROWS` steps of
    ``trajectory``, default ``result.parameter_history``); ``extra`` keys are added at the
    top level.
    """
    outcome = result.outcome
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": "solve",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "problem": result.problem.name if result.problem else result.config.get("problem"),
        "description": result.problem.description if result.problem else "",
        "config": result.config,
        "seed": result.config.get("seed"),
        "device": result.config.get("device"),
        "dtype": result.config.get("dtype"),
        "steps": result.steps,
        "wall_time_s": outcome.wall_time_s if outcome else None,
        "status": run_status(result.stop_reason.name if result.stop_reason else None),
        "stop_reason": result.stop_reason.name if result.stop_reason else None,
        "stop_hint": result.stop_reason.value if result.stop_reason else None,
        "phases": [
            {
                "name": p.name,
                "steps": p.steps,
                "evaluations": p.evaluations,
                "reason": p.reason.name,
                "wall_time_s": p.wall_time_s,
            }
            for p in (outcome.phases if outcome else [])
        ],
        "history": result.history.summary() if result.history else {},
        "parameters": result.parameters,
        "versions": versions(),
        "machine": machine(),
    }
    exact = result.problem.exact_solution if result.problem is not None else None
    report["reference"] = exact.kind if exact is not None else None
    trajectory = result.parameter_history if trajectory is None else trajectory
    if trajectory:
        report["parameter_trajectory"] = condensed_trajectory(trajectory)
    report["metrics"] = None
    if validation is not None:
        report["reference"] = validation.reference
        report["up_to_constant"] = list(validation.up_to_constant)
        report["metrics"] = validation.to_dict()["metrics"]
        report["parameter_errors"] = validation.to_dict()["parameters"]
        report["eval_points"] = validation.n_points
        report["eval_dtype"] = validation.dtype
    report.update(extra)
    return report


def condensed_trajectory(trajectory: Mapping[str, Any], rows: int = TRAJECTORY_ROWS) -> dict[str, list[Any]]:
    """``{"step": [...], name: [...]}`` at no more than ``rows`` evenly spaced steps of a
    parameter trajectory (the first and the last always kept)."""
    steps = np.asarray(trajectory.get("step", []))
    n = len(steps)
    if n == 0:
        return {}
    keep = np.unique(np.linspace(0, n - 1, min(rows, n)).round().astype(int))
    out: dict[str, list[Any]] = {"step": [int(v) for v in steps[keep]]}
    for name, values in trajectory.items():
        if name != "step":
            out[name] = [float(v) for v in np.asarray(values, dtype=np.float64)[keep]]
    return out


def run_status(stop_reason: str | None) -> str:
    """``"interrupted"``, ``"diverged"`` or ``"completed"`` for a stop reason's name, the same
    classes as the command's exit status (:data:`pinnopt.exitcodes.EXIT_CODES`: NOT_FINITE and
    LINE_SEARCH_NOT_FINITE are divergences too); ``"unknown"`` without a stop reason."""
    if not stop_reason:
        return "unknown"
    code = EXIT_CODES.get(stop_reason, EXIT_OK)
    return {EXIT_INTERRUPTED: "interrupted", EXIT_DIVERGED: "diverged"}.get(code, "completed")


def benchmark_report(name: str, results: Any, **extra: Any) -> dict[str, Any]:
    """The report of a benchmark: same envelope as a solve report."""
    return {
        "schema": SCHEMA,
        "kind": "benchmark",
        "benchmark": name,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "machine": machine(),
        "results": results,
        **extra,
    }


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a report written by :func:`write_json` (checks the schema)."""
    path = Path(path)
    try:
        with open(path) as fh:
            report = json.load(fh)
    except FileNotFoundError:
        raise CheckpointError(
            f"{path}: no report there (expected a folder written by `pinnopt solve`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable JSON report ({exc})") from exc
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise CheckpointError(f"{path}: not a pinnopt report (expected schema {SCHEMA})")
    return report


def write_json(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``report`` atomically (write, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, sort_keys=False, default=_jsonable) + "\n"
    return write_text_atomic(path, text)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it (umask permissions)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
