"""Validation against exact solutions: metrics, checks, gradient checks, plots, reports.

The light names (metrics, exact and reference solutions) are imported eagerly; the rest
(checks, plots, landscapes, run folders) on first use, so ``import pinnopt`` neither
imports matplotlib nor creates an import cycle with :mod:`pinnopt.problem`.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..declare.exact import ExactSolution
from ..declare.reference import ReferenceSolution
from ..metrics import Validation, compute_metrics, relative_l2

_LAZY = {
    "CheckReport": "check",
    "check_problem": "check",
    "GradCheckReport": "gradcheck",
    "gradient_check": "gradcheck",
    "ParameterRecorder": "trajectory",
    "plot_result": "figures",
    "ConvexityReport": "landscape",
    "LossSlice": "landscape",
    "convexity_probe": "landscape",
    "loss_slice": "landscape",
    "result_convexity": "landscape",
    "result_landscape": "landscape",
    "result_loss": "landscape",
    "plot_feasibility": "plots",
    "write_run": "rundir",
    "rerender_run": "rundir",
    "markdown_report": "markdown",
}

__all__ = ["ExactSolution", "ReferenceSolution", "Validation", "compute_metrics", "relative_l2", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
