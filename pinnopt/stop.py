"""Stopping criteria, combined with ``|`` (any) and ``&`` (all) (``po.stop``).

``po.solve(problem, stop=po.stop.CostThreshold(1e-6) | po.stop.TimeLimit(600))``; the
result's ``stop_reason`` (:class:`StopReason`) says which one fired.
"""

from .train.metric import Metric
from .train.monitor import EarlyStopping, MetricThreshold
from .train.stop import StopReason
from .train.stopping import AllOf, AnyOf, ConvergenceThreshold, CostThreshold, Criterion, MaxSteps, TimeLimit

__all__ = [
    "AllOf",
    "AnyOf",
    "ConvergenceThreshold",
    "CostThreshold",
    "Criterion",
    "EarlyStopping",
    "MaxSteps",
    "Metric",
    "MetricThreshold",
    "StopReason",
    "TimeLimit",
]
