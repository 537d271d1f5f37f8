"""The shared trainer: optimizer phases, batching, schedules, stopping, checkpoints, DDP."""

from ..losses.hooks import PhaseInfo, TrainingHook, TrainingUpdate, TrainingView
from .batching import Batching, FullBatch, MiniBatch
from .callbacks import Callback
from .checkpoint import Checkpoint
from .distributed import DistributedContext
from .guard import DivergenceGuard
from .history import History
from .lbfgs import LBFGSStatus
from .metric import Metric
from .monitor import EarlyStopping, MetricThreshold
from .outcome import PhaseOutcome, TrainOutcome
from .phases import LBFGS, SGD, Adam, AdamW, GradientPhase, Momentum, Phase
from .schedules import CosineDecay, ExponentialDecay, ReduceOnPlateau, Schedule, StepDecay, Warmup
from .stop import StopReason
from .stopping import (
    AllOf,
    AnyOf,
    ConvergenceThreshold,
    CostThreshold,
    Criterion,
    MaxSteps,
    Observation,
    TimeLimit,
)
from .trainer import Trainer

__all__ = [
    "LBFGS",
    "SGD",
    "Adam",
    "AdamW",
    "AllOf",
    "AnyOf",
    "Batching",
    "Callback",
    "Checkpoint",
    "ConvergenceThreshold",
    "CosineDecay",
    "CostThreshold",
    "Criterion",
    "DistributedContext",
    "DivergenceGuard",
    "EarlyStopping",
    "ExponentialDecay",
    "FullBatch",
    "GradientPhase",
    "History",
    "LBFGSStatus",
    "MaxSteps",
    "Metric",
    "MetricThreshold",
    "MiniBatch",
    "Momentum",
    "Observation",
    "Phase",
    "PhaseInfo",
    "PhaseOutcome",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "StopReason",
    "TimeLimit",
    "TrainOutcome",
    "Trainer",
    "TrainingHook",
    "TrainingUpdate",
    "TrainingView",
    "Warmup",
]
