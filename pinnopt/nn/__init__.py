"""Models: networks for the unknowns, and the PINN wrapper holding trainable scalars."""

from .mlp import ACTIVATIONS, MLP, InputScaling, MLPNet, model_from_config
from .pinn import PINN

__all__ = ["ACTIVATIONS", "MLP", "PINN", "InputScaling", "MLPNet", "model_from_config"]
