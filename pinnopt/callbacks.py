"""What watches a run: callbacks, checkpoints, parameter recorders (``po.callbacks``)."""

from .losses.hooks import PhaseInfo, TrainingHook, TrainingUpdate, TrainingView
from .train.callbacks import Callback
from .train.checkpoint import Checkpoint
from .train.trace import ParameterTrace
from .validate.trajectory import ParameterRecorder

__all__ = [
    "Callback",
    "Checkpoint",
    "ParameterRecorder",
    "ParameterTrace",
    "PhaseInfo",
    "TrainingHook",
    "TrainingUpdate",
    "TrainingView",
]
