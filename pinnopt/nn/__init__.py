"""Models: network specs and modules, initialization, normalization, diagnostics, pruning."""

from . import init
from .activations import ACTIVATIONS, GAINS, AdaptiveActivation, gain
from .diagnostics import InitReport, diagnose, diagnose_network, plot_reports
from .embedding import Embedding, FourierFeatures, PeriodicEmbedding, embedding_from_config
from .models import MLP, MODELS, ModelSpec, ModifiedMLP, ResidualMLP, model_from_config
from .networks import FeedForwardNet, MLPNet, ModifiedMLPNet, SeparateNets
from .norm import BatchNorm, InputScaling, InputStandardization, OutputScaling, fit_input_statistics
from .pinn import PINN
from .prune import magnitude_masks, prune_and_finetune

__all__ = [
    "ACTIVATIONS",
    "GAINS",
    "MLP",
    "MODELS",
    "PINN",
    "AdaptiveActivation",
    "BatchNorm",
    "Embedding",
    "FeedForwardNet",
    "FourierFeatures",
    "InitReport",
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
    "diagnose",
    "diagnose_network",
    "embedding_from_config",
    "fit_input_statistics",
    "gain",
    "init",
    "magnitude_masks",
    "model_from_config",
    "plot_reports",
    "prune_and_finetune",
]
