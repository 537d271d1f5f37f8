"""Compatibility module: the MLP spec and network now live in :mod:`pinnopt.nn.models`,
:mod:`pinnopt.nn.networks`, :mod:`pinnopt.nn.activations` and :mod:`pinnopt.nn.norm`."""

from .activations import ACTIVATIONS, Sin
from .models import MLP, model_from_config
from .networks import MLPNet
from .norm import InputScaling

__all__ = ["ACTIVATIONS", "MLP", "InputScaling", "MLPNet", "Sin", "model_from_config"]
