"""Optimizer phases, batching, learning-rate schedules and the divergence guard (``po.optim``).

``po.solve(problem, phases=[po.optim.Adam(2000), po.optim.LBFGS(5000)])``; see docs/training.md.
"""

from .strategies.curriculum import Curriculum
from .train.batching import Batching, FullBatch, MiniBatch
from .train.guard import DivergenceGuard
from .train.phases import LBFGS, SGD, Adam, AdamW, GradientPhase, Momentum, Phase
from .train.schedules import CosineDecay, ExponentialDecay, ReduceOnPlateau, Schedule, StepDecay, Warmup
from .train.second_order import SSBFGS, GaussNewton, LevenbergMarquardt, SSBroyden

__all__ = [
    "LBFGS",
    "SGD",
    "SSBFGS",
    "Adam",
    "AdamW",
    "Batching",
    "CosineDecay",
    "Curriculum",
    "DivergenceGuard",
    "ExponentialDecay",
    "FullBatch",
    "GaussNewton",
    "GradientPhase",
    "LevenbergMarquardt",
    "MiniBatch",
    "Momentum",
    "Phase",
    "ReduceOnPlateau",
    "SSBroyden",
    "Schedule",
    "StepDecay",
    "Warmup",
]
