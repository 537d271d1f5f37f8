"""What watches a run: callbacks, checkpoints, loggers, parameter recorders (``po.callbacks``)."""

from .losses.hooks import PhaseInfo, TrainingHook, TrainingUpdate, TrainingView
from .train.callbacks import Callback
from .train.checkpoint import Checkpoint
from .train.loggers import CSVLogger, TensorBoardLogger
from .train.trace import ParameterTrace
from .validate.trajectory import ParameterRecorder

__all__ = [
    "CSVLogger",
    "Callback",
    "Checkpoint",
    "ParameterRecorder",
    "ParameterTrace",
    "PhaseInfo",
    "TensorBoardLogger",
    "TrainingHook",
    "TrainingUpdate",
    "TrainingView",
]
