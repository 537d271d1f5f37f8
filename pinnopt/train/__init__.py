"""The trainer, optimizer phases, history and stop reasons."""

from .history import History
from .hooks import TrainingHook
from .lbfgs import LBFGSStatus
from .phases import LBFGS, SGD, Adam, GradientPhase, Phase
from .stop import StopReason
from .trainer import PhaseOutcome, Trainer, TrainOutcome

__all__ = [
    "LBFGS",
    "SGD",
    "Adam",
    "GradientPhase",
    "History",
    "LBFGSStatus",
    "Phase",
    "PhaseOutcome",
    "StopReason",
    "TrainOutcome",
    "Trainer",
    "TrainingHook",
]
