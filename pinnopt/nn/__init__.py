"""Networks (``po.nn``): specs and modules, initialization, normalization, and the derivative
engines (Taylor mode through recognized networks, reverse mode everywhere)."""

from ..symbolic import AutogradEngine, DerivativeEngine
from . import init
from .activations import ACTIVATIONS, GAINS, AdaptiveActivation, gain
from .embedding import Embedding, FourierFeatures, PeriodicEmbedding, embedding_from_config
from .models import MLP, MODELS, ModelSpec, ModifiedMLP, ResidualMLP, model_from_config
from .networks import FeedForwardNet, MLPNet, ModifiedMLPNet, SeparateNets
from .norm import BatchNorm, InputScaling, InputStandardization, OutputScaling, fit_input_statistics
from .pinn import PINN
from .taylor import AutoEngine, TaylorEngine

__all__ = [
    "ACTIVATIONS",
    "GAINS",
    "MLP",
    "MODELS",
    "PINN",
    "AdaptiveActivation",
    "AutoEngine",
    "AutogradEngine",
    "BatchNorm",
    "DerivativeEngine",
    "Embedding",
    "FeedForwardNet",
    "FourierFeatures",
    "InputScaling",
    "InputStandardization",
    "MLPNet",
    "ModelSpec",
    "ModifiedMLP",
    "ModifiedMLPNet",
    "OutputScaling",
    "PeriodicEmbedding",
    "ResidualMLP",
    "SeparateNets",
    "TaylorEngine",
    "embedding_from_config",
    "fit_input_statistics",
    "gain",
    "init",
    "model_from_config",
]
