"""Activation functions, their initialization gains and saturation thresholds.

:data:`ACTIVATIONS` maps the names accepted by the model specs to module factories.
:data:`GAINS` is the gain table used by Kaiming/He initialization (``sigma = gain /
sqrt(fan)``): the values of ``torch.nn.init.calculate_gain`` where torch defines them
(linear 1, sigmoid 1, tanh 5/3, relu sqrt(2), selu 3/4), and for the other activations the
second-moment rule ``gain = 1 / sqrt(E[phi(z)^2])`` with ``z ~ N(0, 1)``, the rule that
yields sqrt(2) for relu. Extend it per call with :func:`gain`'s ``extra`` argument; the
table itself is read-only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

import torch
from torch import nn

from ..errors import ConfigError


class Sin(nn.Module):
    """``sin(x)`` as a module."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


ACTIVATIONS: Mapping[str, Callable[[], nn.Module]] = MappingProxyType(
    {
        "tanh": nn.Tanh,
        "sin": Sin,
        "sigmoid": nn.Sigmoid,
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "softplus": nn.Softplus,
    }
)
"""Activation names accepted by the model specs (read-only)."""

GAINS: Mapping[str, float] = MappingProxyType(
    {
        # torch.nn.init.calculate_gain
        "linear": 1.0,
        "identity": 1.0,
        "sigmoid": 1.0,
        "tanh": 5.0 / 3.0,
        "relu": math.sqrt(2.0),
        "selu": 0.75,
        # second-moment rule 1 / sqrt(E[phi(z)^2]), z ~ N(0, 1) (numerical quadrature)
        "sin": 1.5208666,
        "gelu": 1.5335304,
        "silu": 1.6765325,
        "softplus": 1.0418668,
    }
)
"""Initialization gain per activation (read-only; pass extra entries to :func:`gain`)."""

SATURATION: Mapping[str, float] = MappingProxyType({"tanh": 2.5, "sigmoid": 5.0})
"""Bounded activations and the |pre-activation| beyond which a unit counts as saturated.

At these points the derivative is about 2.6% of its maximum (tanh'(2.5) = 0.027,
sigmoid'(5) / sigmoid'(0) = 0.027; sigmoid(z) = (1 + tanh(z/2)) / 2).
"""


def gain(activation: str, extra: Mapping[str, float] | None = None) -> float:
    """The initialization gain of ``activation``, looked up in ``extra`` first, then :data:`GAINS`."""
    table = {**GAINS, **(extra or {})}
    if activation not in table:
        raise ConfigError(
            f"no initialization gain for activation {activation!r}; known: {sorted(table)} "
            "(pass extra gains, e.g. KaimingNormal(extra_gains={'myact': 1.2}))"
        )
    value = float(table[activation])
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"gain of {activation!r} must be a positive finite number, got {value!r}")
    return value


class AdaptiveActivation(nn.Module):
    """Trainable-slope activation ``phi(n * a * x)`` (Jagtap, Kawaguchi & Karniadakis 2020).

    ``n >= 1`` is a fixed scale factor and ``a`` a trainable scalar initialized to ``1 / n``,
    so training starts from ``phi(x)``; the factor ``n`` speeds up the slope's adaptation.
    One instance per hidden layer gives the layer-wise variant.
    """

    def __init__(self, activation: str, scale: float) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"adaptive activation: unknown base {activation!r}; expected {sorted(ACTIVATIONS)}"
            )
        self.name = activation
        self.base = ACTIVATIONS[activation]()
        self.scale = float(scale)
        self.slope = nn.Parameter(torch.tensor(1.0 / self.scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(self.scale * self.slope * x)

    def extra_repr(self) -> str:
        return f"{self.name}, scale={self.scale}"


def check_activation(owner: str, activation: str) -> None:
    """Raise :class:`ConfigError` unless ``activation`` is in :data:`ACTIVATIONS`."""
    if activation not in ACTIVATIONS:
        raise ConfigError(f"{owner}(activation={activation!r}): expected one of {sorted(ACTIVATIONS)}")


def is_activation(module: nn.Module) -> bool:
    """Whether ``module`` is one of the activation modules built by the model specs."""
    return isinstance(module, (AdaptiveActivation, *_ACTIVATION_TYPES))


_ACTIVATION_TYPES: tuple[type, ...] = tuple(f for f in ACTIVATIONS.values() if isinstance(f, type))
