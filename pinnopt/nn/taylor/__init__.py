"""Taylor-mode (forward) derivatives through recognized networks, and automatic engine choice."""

from .activations import ActivationRule, default_rules
from .auto import AutoEngine
from .engine import MLPView, TaylorEngine, describe_mlp, taylor_forward
from .native import native_status
from .plan import ChannelRule, TaylorPlan, lower_closure

__all__ = [
    "ActivationRule",
    "AutoEngine",
    "ChannelRule",
    "MLPView",
    "TaylorEngine",
    "TaylorPlan",
    "default_rules",
    "describe_mlp",
    "lower_closure",
    "native_status",
    "taylor_forward",
]
