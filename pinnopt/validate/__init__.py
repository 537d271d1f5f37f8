"""Validation (``po.validate``): metrics, checks, gradient checks, feasibility, init
diagnostics, loss landscapes, reports and run folders.

Everything is imported eagerly except what draws (figures, plots), so ``import pinnopt``
does not import matplotlib; ``plot_result`` and ``plot_feasibility`` load it on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..declare.exact import ExactSolution
from ..declare.reference import ReferenceSolution
from ..metrics import Validation, compute_metrics, relative_l2
from .check import check_problem
from .check_report import CheckReport, TermCheck
from .diagnostics import InitReport, diagnose, diagnose_network, plot_reports
from .feasibility import FeasibilityReport, feasibility
from .gradcheck import GradCheckReport, gradient_check
from .landscape import (
    ConvexityReport,
    LossSlice,
    convexity_probe,
    loss_slice,
    result_convexity,
    result_landscape,
    result_loss,
)
from .markdown import markdown_report
from .rundir import report_run, rerender_run, write_run
from .trajectory import ParameterRecorder

_DRAWING = {"plot_result": "figures", "plot_feasibility": "plots"}

__all__ = [
    "CheckReport",
    "ConvexityReport",
    "ExactSolution",
    "FeasibilityReport",
    "GradCheckReport",
    "InitReport",
    "LossSlice",
    "ParameterRecorder",
    "ReferenceSolution",
    "TermCheck",
    "Validation",
    "check_problem",
    "compute_metrics",
    "convexity_probe",
    "diagnose",
    "diagnose_network",
    "feasibility",
    "gradient_check",
    "loss_slice",
    "markdown_report",
    "plot_feasibility",
    "plot_reports",
    "plot_result",
    "relative_l2",
    "report_run",
    "rerender_run",
    "result_convexity",
    "result_landscape",
    "result_loss",
    "write_run",
]


def __getattr__(name: str) -> Any:
    if name in _DRAWING:
        value = getattr(importlib.import_module(f".{_DRAWING[name]}", __name__), name)
        globals()[name] = value  # loaded once; later lookups (and documentation tools) find it
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
