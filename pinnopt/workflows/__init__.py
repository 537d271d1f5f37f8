"""Workflows built on :func:`pinnopt.solve` (``po.workflows``): time-marching, bagging,
parameter fits, pruning, running a library configuration, and hyperparameter sweeps
(``sweep`` over a space of ``Float``, ``Int`` and ``Choice`` dimensions; needs Optuna).

Layer ``workflows`` (see docs/architecture.md): nothing below it imports it.
"""

from .bagging import Bagging, bagging
from .configured import run_configuration
from .fit import ParameterFit, fit_parameters
from .marching import Marching, march
from .prune import magnitude_masks, prune_and_finetune
from .stitched import MarchResult
from .sweep_report import SweepResult, SweepTrial
from .sweep_space import Choice, Float, Int
from .sweeps import sweep

__all__ = [
    "Bagging",
    "Choice",
    "Float",
    "Int",
    "MarchResult",
    "Marching",
    "ParameterFit",
    "SweepResult",
    "SweepTrial",
    "bagging",
    "fit_parameters",
    "magnitude_masks",
    "march",
    "prune_and_finetune",
    "run_configuration",
    "sweep",
]
