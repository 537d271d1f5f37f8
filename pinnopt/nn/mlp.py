"""Fully connected networks with input scaling to [-1, 1] inside the model."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import ConfigError


class Sin(nn.Module):
    """``sin(x)`` as a module."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "sin": Sin,
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}
"""Activation names accepted by :class:`MLP`."""


class InputScaling(nn.Module):
    """Maps a box ``[lower, upper]`` affinely onto ``[-1, 1]``; autograd applies the chain rule."""

    def __init__(self, lower: Sequence[float], upper: Sequence[float]) -> None:
        super().__init__()
        lo = torch.as_tensor(lower, dtype=torch.float64)
        hi = torch.as_tensor(upper, dtype=torch.float64)
        if lo.shape != hi.shape or not bool((hi > lo).all()):
            raise ConfigError(f"input scaling needs lower < upper per coordinate, got {lo}, {hi}")
        self.register_buffer("center", (lo + hi) / 2)
        self.register_buffer("inv_half_width", 2 / (hi - lo))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center) * self.inv_half_width


class MLPNet(nn.Module):
    """A multilayer perceptron: [input scaling] -> (Linear -> activation) x depth -> Linear."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int,
        depth: int,
        activation: str,
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.scaling = InputScaling(lower, upper) if lower is not None else None
        dims = [in_dim] + [width] * depth + [out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.activation = ACTIVATIONS[activation]()
        for layer in self.linears:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.scaling(x) if self.scaling is not None else x
        act = self.activation
        for layer in self.linears[:-1]:
            h = act(layer(h))
        return self.linears[-1](h)


@dataclass(frozen=True)
class MLP:
    """Specification of a multilayer perceptron (the default model).

    Args:
        width: units per hidden layer.
        depth: number of hidden layers.
        activation: one of :data:`ACTIVATIONS` (default ``"tanh"``).
        input_scaling: map the domain's bounding box to [-1, 1] inside the model.

    Weights use Glorot (Xavier) normal initialization, biases start at zero.
    """

    width: int = 32
    depth: int = 4
    activation: str = "tanh"
    input_scaling: bool = True

    def __post_init__(self) -> None:
        for name in ("width", "depth"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"MLP({name}={v!r}): expected a positive int")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"MLP(activation={self.activation!r}): expected one of {sorted(ACTIVATIONS)}")

    def build(
        self,
        in_dim: int,
        out_dim: int,
        bounds: tuple[Sequence[float], Sequence[float]] | None = None,
    ) -> MLPNet:
        """Create the network for ``in_dim`` coordinates and ``out_dim`` unknowns."""
        lower, upper = bounds if (bounds is not None and self.input_scaling) else (None, None)
        return MLPNet(in_dim, out_dim, self.width, self.depth, self.activation, lower, upper)

    def config(self) -> dict[str, object]:
        """A JSON-ready description (saved with the model)."""
        return {"kind": "MLP", **asdict(self)}

    def n_parameters(self, in_dim: int, out_dim: int) -> int:
        """Number of weights and biases of the built network."""
        dims = [in_dim] + [self.width] * self.depth + [out_dim]
        return sum(a * b + b for a, b in itertools.pairwise(dims))


def model_from_config(config: dict[str, object]) -> MLP:
    """Rebuild a model specification saved by :meth:`MLP.config`."""
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    if kind != "MLP":
        raise ConfigError(f"unknown model kind {kind!r} in saved configuration")
    return MLP(**cfg)  # type: ignore[arg-type]
