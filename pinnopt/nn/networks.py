"""Network modules built by the model specs of :mod:`pinnopt.nn.models`.

- :class:`MLPNet`: the plain multilayer perceptron ``[input scaling] -> (Linear ->
  activation) x depth -> Linear``. Its structure (``scaling``, ``linears``, one shared
  elementwise ``activation``) is fixed so derivative engines can recognize it.
- :class:`FeedForwardNet`: the general feed-forward network (embedding, hidden-layer
  normalization, adaptive activations, residual connections, output scaling).
- :class:`ModifiedMLPNet`: the modified MLP of Wang, Teng & Perdikaris (2021).
- :class:`SeparateNets`: one network per output, outputs concatenated.

Every class other than :class:`MLPNet` is a distinct class on purpose: an engine that
specializes on ``MLPNet`` refuses them and falls back to autograd.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from .activations import ACTIVATIONS, AdaptiveActivation
from .initializers import GlorotNormal, Initializer
from .norm import BatchNorm, InputScaling, OutputScaling, make_norm


class MLPNet(nn.Module):
    """A multilayer perceptron: [input scaling] -> (Linear -> activation) x depth -> Linear.

    Args:
        in_dim, out_dim: numbers of coordinates and outputs.
        width, depth: units per hidden layer and number of hidden layers.
        activation: a name of :data:`~pinnopt.nn.activations.ACTIVATIONS`.
        lower, upper: the box mapped to [-1, 1] by :class:`InputScaling` (None: no scaling).
        scaling: an explicit input map (an :class:`InputScaling`, e.g. a standardization)
            replacing ``lower``/``upper``.
        init: the initialization scheme (default Glorot normal, biases zero).
        initialize: False leaves torch's default Linear initialization (the caller
            initializes the network).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int,
        depth: int,
        activation: str,
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
        *,
        scaling: InputScaling | None = None,
        init: Initializer | None = None,
        initialize: bool = True,
    ) -> None:
        super().__init__()
        if scaling is None and lower is not None and upper is not None:
            scaling = InputScaling(lower, upper)
        self.scaling = scaling
        dims = [in_dim] + [width] * depth + [out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.activation = ACTIVATIONS[activation]()
        self.activation_name = activation
        if initialize:
            (init or GlorotNormal()).initialize(self, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.scaling(x) if self.scaling is not None else x
        act = self.activation
        for layer in self.linears[:-1]:
            h = act(layer(h))
        return self.linears[-1](h)


def _activations(activation: str, adaptive: float | None, count: int) -> nn.ModuleList:
    if adaptive is None:
        return nn.ModuleList(ACTIVATIONS[activation]() for _ in range(count))
    return nn.ModuleList(AdaptiveActivation(activation, adaptive) for _ in range(count))


class FeedForwardNet(nn.Module):
    """A feed-forward network with optional embedding, norms, residual links and output scaling.

    Layout: ``[input map] -> [embedding] -> (Linear -> [norm] -> activation) x depth ->
    Linear -> [output scaling]``. With ``residual=True`` every hidden layer after the first
    adds its input: ``h <- h + activation(norm(W h + b))``.

    Layer and group norm are invariant to the scale of the pre-activation vector, so they
    are near-singular where that vector vanishes. With zero biases and an odd activation
    every pre-activation vanishes at the centre of the scaled domain (in 1-D the first
    layer's is exactly ``w x``, whose normalization keeps only the sign of ``x``), and 1-D
    Poisson started from a loss of 1e5..1e7 and did not train. The first layer's biases are
    therefore drawn from U(-1, 1) after the initialization scheme (:meth:`init_biases_`);
    1-D Poisson then starts near a loss of 50 and trains.

    Batch norm (:class:`~pinnopt.nn.norm.BatchNorm`): in training mode, when the inputs
    require gradients, the batch statistics come from a first pass over the detached
    inputs, so derivatives with respect to the inputs are pointwise.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int,
        depth: int,
        activation: str,
        *,
        input_map: nn.Module | None = None,
        embedding: nn.Module | None = None,
        embed_dim: int | None = None,
        norm: str | None = None,
        groups: int = 4,
        adaptive: float | None = None,
        residual: bool = False,
        output_scale: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.input_map = input_map
        self.embedding = embedding
        first = embed_dim if embed_dim is not None else in_dim
        dims = [first] + [width] * depth + [out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        norms = [make_norm(norm, width, groups) for _ in range(depth)]
        self.norms = nn.ModuleList(norms) if norm is not None else None  # type: ignore[arg-type]
        self.activations = _activations(activation, adaptive, depth)
        self.activation_name = activation
        self.residual = residual
        self.output_scaling = OutputScaling(output_scale) if output_scale is not None else None
        self._batch_norm = norm == "batch"
        self._spread_biases = norm in ("layer", "group")

    def init_biases_(self, generator: torch.Generator | None = None) -> None:
        """Called by the initialization schemes: spread the first layer's biases (layer/group norm)."""
        if self._spread_biases:
            with torch.no_grad():
                self.linears[0].bias.uniform_(-1.0, 1.0, generator=generator)
        elif self._batch_norm and self.norms is not None:
            with torch.no_grad():  # batch norm removes the linear bias: spread its own instead
                self.norms[0].bias.uniform_(-1.0, 1.0, generator=generator)

    def _shared(self) -> bool:
        """True while the batch-norm layers hold shared statistics (already detached-input ones)."""
        return self.norms is not None and any(getattr(n, "shared", None) is not None for n in self.norms)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_map(x) if self.input_map is not None else x
        return self.embedding(h) if self.embedding is not None else h

    def _run(
        self,
        x: torch.Tensor,
        stats: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
        collect: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        h = self._embed(x)
        for i, (layer, act) in enumerate(zip(self.linears[:-1], self.activations, strict=True)):
            z = layer(h)
            if self.norms is not None:
                nrm = self.norms[i]
                if isinstance(nrm, BatchNorm) and nrm.training and nrm.shared is None:
                    s = stats[i] if stats is not None else nrm.batch_statistics(z, update=nrm._update)
                    if collect is not None:
                        collect.append(s)
                    z = nrm(z, s)
                else:
                    z = nrm(z)
            a = act(z)
            h = h + a if (self.residual and i > 0) else a
        y = self.linears[-1](h)
        return self.output_scaling(y) if self.output_scaling is not None else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._batch_norm and self.training and x.requires_grad and not self._shared():
            stats: list[tuple[torch.Tensor, torch.Tensor]] = []
            self._run(x.detach(), collect=stats)
            return self._run(x, stats=stats)
        return self._run(x)


class ModifiedMLPNet(nn.Module):
    """The modified MLP of Wang, Teng & Perdikaris (2021, SIAM J. Sci. Comput. 43(5)).

    Two encoders ``U = act(W_u x + b_u)`` and ``V = act(W_v x + b_v)``, a first hidden layer
    ``H_1 = act(W_1 x + b_1)``, then ``depth - 1`` gated layers ``Z_k = act(W_k H_k + b_k)``,
    ``H_{k+1} = (1 - Z_k) * U + Z_k * V``, and a linear output layer.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int,
        depth: int,
        activation: str,
        *,
        input_map: nn.Module | None = None,
        embedding: nn.Module | None = None,
        embed_dim: int | None = None,
        adaptive: float | None = None,
        output_scale: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.input_map = input_map
        self.embedding = embedding
        first = embed_dim if embed_dim is not None else in_dim
        self.encoder_u = nn.Linear(first, width)
        self.encoder_v = nn.Linear(first, width)
        dims = [first] + [width] * depth + [out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.activations = _activations(activation, adaptive, depth + 2)
        self.activation_name = activation
        self.output_scaling = OutputScaling(output_scale) if output_scale is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.input_map(x) if self.input_map is not None else x
        h0 = self.embedding(h0) if self.embedding is not None else h0
        acts = self.activations
        u = acts[0](self.encoder_u(h0))
        v = acts[1](self.encoder_v(h0))
        h = acts[2](self.linears[0](h0))
        for k, layer in enumerate(self.linears[1:-1]):
            z = acts[3 + k](layer(h))
            h = (1 - z) * u + z * v
        y = self.linears[-1](h)
        return self.output_scaling(y) if self.output_scaling is not None else y


class SeparateNets(nn.Module):
    """One network per output; ``forward`` concatenates their ``(N, 1)`` outputs."""

    def __init__(self, nets: Sequence[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([net(x) for net in self.nets], dim=1)
