"""JSON reports of solves and benchmarks (one layout for both)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Result
    from .metrics import Validation

SCHEMA = "pinnopt.report/1"


def versions() -> dict[str, str]:
    """Versions of pinnopt and the packages it computes with."""
    import scipy
    import sympy
    import torch

    from .. import __version__

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


def solve_report(result: Result, validation: Validation | None = None, **extra: Any) -> dict[str, Any]:
    """The report of one solve: problem, configuration, metrics, stop reason, timings."""
    outcome = result.outcome
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": "solve",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "problem": result.problem.name if result.problem else result.config.get("problem"),
        "config": result.config,
        "seed": result.config.get("seed"),
        "device": result.config.get("device"),
        "dtype": result.config.get("dtype"),
        "steps": result.steps,
        "wall_time_s": outcome.wall_time_s if outcome else None,
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
    if validation is not None:
        report["metrics"] = validation.to_dict()["metrics"]
        report["parameter_errors"] = validation.to_dict()["parameters"]
        report["eval_points"] = validation.n_points
    report.update(extra)
    return report


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


def write_json(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``report`` atomically (write, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(report, fh, indent=2, sort_keys=False, default=_jsonable)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
