"""Validation (``po.validate``): metrics, checks, gradient checks, feasibility, init
diagnostics, loss landscapes, reports and run folders.

``import pinnopt`` does not import matplotlib: the plotting functions load it on first use.
"""

from __future__ import annotations

from ..declare.exact import ExactSolution
from ..declare.reference import ReferenceSolution
from ..metrics import Validation, compute_metrics, relative_l2
from .check import check_problem
from .check_report import CheckReport, TermCheck
from .diagnostics import InitReport, diagnose, diagnose_network, plot_reports
from .feasibility import FeasibilityReport, feasibility
from .figures import plot_result
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
from .plots import plot_feasibility
from .rundir import report_run, rerender_run, write_run
from .trajectory import ParameterRecorder

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
