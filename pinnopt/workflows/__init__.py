"""Workflows built on :func:`pinnopt.solve` (``po.workflows``): time-marching, bagging,
parameter fits, pruning, and running a library configuration.

Layer ``workflows`` (see docs/architecture.md): nothing below it imports it.
"""

from .bagging import Bagging, bagging
from .configured import run_configuration
from .fit import ParameterFit, fit_parameters
from .marching import Marching, march
from .prune import magnitude_masks, prune_and_finetune
from .stitched import MarchResult

__all__ = [
    "Bagging",
    "MarchResult",
    "Marching",
    "ParameterFit",
    "bagging",
    "fit_parameters",
    "magnitude_masks",
    "march",
    "prune_and_finetune",
    "run_configuration",
]
