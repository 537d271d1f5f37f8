"""Model specifications: frozen dataclasses that build networks and round-trip through JSON.

``spec.build(in_dim, out_dim, bounds)`` creates the network, ``spec.config()`` describes it
and :func:`model_from_config` rebuilds the spec (``Result.save``/``load`` rely on this).

Options shared by :class:`MLP`, :class:`ResidualMLP` and :class:`ModifiedMLP`:

- ``width``, ``depth``: units per hidden layer, number of hidden layers;
- ``activation``: tanh, sin, sigmoid, relu, gelu, silu, softplus;
- ``input_scaling``: ``True``/``"box"`` maps the domain's bounding box onto [-1, 1];
  ``"standardize"`` applies ``(x - mean) / std`` with ``input_stats=(mean, std)`` (default:
  the moments of the uniform distribution on the box; refit from data with
  :func:`pinnopt.nn.fit_input_statistics`); ``False`` leaves the coordinates as they are;
- ``init``: an initialization scheme of :mod:`pinnopt.nn.init` (default Glorot normal);
- ``norm``: ``"layer"``, ``"group"`` (``groups`` groups) or ``"batch"`` before each hidden
  activation (not for :class:`ModifiedMLP`);
- ``output_scale``: known magnitude(s) of the solution, multiplying the outputs;
- ``embedding``: an input embedding such as :class:`~pinnopt.nn.embedding.FourierFeatures`;
- ``adaptive``: the scale factor ``n`` of layer-wise adaptive activations ``act(n a x)``;
- ``separate``: one network per unknown instead of one network with several outputs.

A plain :class:`MLP` (no norm, embedding, adaptive activation or output scale) builds an
:class:`~pinnopt.nn.networks.MLPNet`; the other options build distinct network classes.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar, final

import torch
from torch import nn

from ..errors import ConfigError
from .activations import check_activation
from .embedding import Bounds, Embedding, embedding_from_config
from .init import initializer_from_config
from .initializers import GlorotNormal, Initializer
from .networks import FeedForwardNet, MLPNet, ModifiedMLPNet, SeparateNets
from .norm import NORMS, InputScaling, InputStandardization


class ModelSpec(abc.ABC):
    """Base of model specifications."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def build(self, in_dim: int, out_dim: int, bounds: Bounds | None = None) -> nn.Module:
        """Create the network for ``in_dim`` coordinates and ``out_dim`` unknowns."""

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """A JSON-ready description, rebuilt by :func:`model_from_config`."""

    def bind(self, coordinates: Sequence[str]) -> ModelSpec:
        """This spec with names of the problem's coordinates resolved (default: unchanged).

        :func:`pinnopt.compile.assemble.build_model` calls it, so that e.g. a periodic embedding may
        name its coordinates (``po.nn.PeriodicEmbedding(("x",))``).
        """
        return self

    def n_parameters(self, in_dim: int, out_dim: int) -> int:
        """Number of weights, biases and other parameters of the built network."""
        with torch.random.fork_rng(devices=[]):
            net = self._make(in_dim, out_dim, None, initialize=False)
        return sum(p.numel() for p in net.parameters())

    @abc.abstractmethod
    def _make(self, in_dim: int, out_dim: int, bounds: Bounds | None, *, initialize: bool) -> nn.Module:
        """The network (``initialize``: apply the spec's initialization)."""


def _positive_int(owner: str, name: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(f"{owner}({name}={v!r}): expected a positive int")


def _floats(owner: str, name: str, v: Any) -> tuple[float, ...]:
    items = (v,) if isinstance(v, (int, float)) and not isinstance(v, bool) else tuple(v)
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise ConfigError(f"{owner}({name}={v!r}): expected finite numbers")
        out.append(float(item))
    if not out:
        raise ConfigError(f"{owner}({name}={v!r}): expected at least one number")
    return tuple(out)


@dataclass(frozen=True)
class _NetworkSpec(ModelSpec):
    width: int = 32
    depth: int = 4
    activation: str = "tanh"
    input_scaling: bool | str = True
    init: Initializer | None = None
    norm: str | None = None
    groups: int = 4
    output_scale: float | tuple[float, ...] | None = None
    embedding: Embedding | None = None
    adaptive: float | None = None
    separate: bool = False
    input_stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        owner = self.kind
        _positive_int(owner, "width", self.width)
        _positive_int(owner, "depth", self.depth)
        _positive_int(owner, "groups", self.groups)
        check_activation(owner, self.activation)
        if self.input_scaling not in (True, False, None, "box", "standardize"):
            raise ConfigError(
                f"{owner}(input_scaling={self.input_scaling!r}): expected True/'box', 'standardize' or False"
            )
        if self.init is not None and not isinstance(self.init, Initializer):
            raise ConfigError(
                f"{owner}(init={self.init!r}): expected a scheme of po.init, e.g. KaimingNormal()"
            )
        if self.norm is not None and self.norm not in NORMS:
            raise ConfigError(f"{owner}(norm={self.norm!r}): expected one of {NORMS} or None")
        if self.norm == "group" and self.width % self.groups:
            raise ConfigError(
                f"{owner}: norm='group' needs width ({self.width}) divisible by groups ({self.groups})"
            )
        if self.output_scale is not None:
            scale = _floats(owner, "output_scale", self.output_scale)
            if any(s == 0 for s in scale):
                raise ConfigError(f"{owner}(output_scale={self.output_scale!r}): expected nonzero magnitudes")
            scalar = isinstance(self.output_scale, (int, float))
            object.__setattr__(self, "output_scale", scale[0] if scalar else scale)
        if self.embedding is not None and not isinstance(self.embedding, Embedding):
            raise ConfigError(
                f"{owner}(embedding={self.embedding!r}): expected e.g. po.nn.FourierFeatures(...)"
            )
        if self.adaptive is not None and (
            isinstance(self.adaptive, bool)
            or not isinstance(self.adaptive, (int, float))
            or not 1 <= self.adaptive < math.inf
        ):
            raise ConfigError(
                f"{owner}(adaptive={self.adaptive!r}): expected a scale factor n >= 1 (e.g. 10) or None"
            )
        if not isinstance(self.separate, bool):
            raise ConfigError(f"{owner}(separate={self.separate!r}): expected True or False")
        if self.input_stats is not None:
            if len(self.input_stats) != 2:
                raise ConfigError(f"{owner}(input_stats={self.input_stats!r}): expected (means, stds)")
            mean = _floats(owner, "input_stats", self.input_stats[0])
            std = _floats(owner, "input_stats", self.input_stats[1])
            if len(mean) != len(std) or any(s <= 0 for s in std):
                raise ConfigError(
                    f"{owner}(input_stats={self.input_stats!r}): expected equal lengths, stds > 0"
                )
            object.__setattr__(self, "input_stats", (mean, std))

    # -- building ---------------------------------------------------------------------------
    def _input_map(self, in_dim: int, bounds: Bounds | None) -> InputScaling | None:
        mode = self.input_scaling
        if mode == "standardize":
            if self.input_stats is not None:
                if len(self.input_stats[0]) != in_dim:
                    raise ConfigError(
                        f"{self.kind}: input_stats have {len(self.input_stats[0])} entries, "
                        f"the problem has {in_dim} coordinates"
                    )
                return InputStandardization(*self.input_stats)
            return InputStandardization.from_box(*bounds) if bounds is not None else None
        if mode in (True, "box") and bounds is not None:
            return InputScaling(*bounds)
        return None

    def _output_scales(self, out_dim: int) -> list[tuple[float, ...] | None]:
        """The output scale of each network (one network, or one per unknown)."""
        s = self.output_scale
        nets = out_dim if (self.separate and out_dim > 1) else 1
        if s is None:
            return [None] * nets
        scale = (s,) if isinstance(s, float) else tuple(s)
        if len(scale) not in (1, out_dim):
            raise ConfigError(
                f"{self.kind}(output_scale={s!r}): expected 1 or {out_dim} magnitudes (one per unknown)"
            )
        if nets == 1:
            return [scale]
        return [(scale[i] if len(scale) > 1 else scale[0],) for i in range(out_dim)]

    @abc.abstractmethod
    def _one(
        self, in_dim: int, out_dim: int, bounds: Bounds | None, scale: tuple[float, ...] | None
    ) -> nn.Module:
        """One network with torch's default Linear initialization."""

    def _make(self, in_dim: int, out_dim: int, bounds: Bounds | None, *, initialize: bool) -> nn.Module:
        _positive_int(self.kind, "in_dim", in_dim)
        _positive_int(self.kind, "out_dim", out_dim)
        scales = self._output_scales(out_dim)
        if len(scales) == 1:
            net = self._one(in_dim, out_dim, bounds, scales[0])
        else:
            net = SeparateNets([self._one(in_dim, 1, bounds, s) for s in scales])
        if initialize:
            (self.init or GlorotNormal()).initialize(net, self.activation)
        return net

    def build(self, in_dim: int, out_dim: int, bounds: Bounds | None = None) -> nn.Module:
        """Create and initialize the network for ``in_dim`` coordinates and ``out_dim`` unknowns."""
        return self._make(in_dim, out_dim, bounds, initialize=True)

    def _net_options(
        self, in_dim: int, bounds: Bounds | None, scale: tuple[float, ...] | None
    ) -> dict[str, Any]:
        """The keywords every general network takes: input map, embedding, adaptive
        activations and output scale."""
        input_map = self._input_map(in_dim, bounds)
        emb, emb_dim = self._embedding(in_dim, bounds, input_map)
        return {
            "input_map": input_map,
            "embedding": emb,
            "embed_dim": emb_dim,
            "adaptive": self.adaptive,
            "output_scale": scale,
        }

    def _feed_forward(
        self,
        in_dim: int,
        out_dim: int,
        bounds: Bounds | None,
        scale: tuple[float, ...] | None,
        residual: bool,
    ) -> nn.Module:
        """The general feed-forward network (embedding, norm, adaptive activations, skips)."""
        return FeedForwardNet(
            in_dim,
            out_dim,
            self.width,
            self.depth,
            self.activation,
            norm=self.norm,
            groups=self.groups,
            residual=residual,
            **self._net_options(in_dim, bounds, scale),
        )

    def _embedding(
        self, in_dim: int, bounds: Bounds | None, input_map: nn.Module | None = None
    ) -> tuple[nn.Module | None, int | None]:
        if self.embedding is None:
            return None, None
        return self.embedding.build_for(in_dim, bounds, input_map), self.embedding.out_dim(in_dim)

    def bind(self, coordinates: Sequence[str]) -> ModelSpec:
        """This spec with the embedding's coordinate names resolved (see :meth:`ModelSpec.bind`)."""
        if self.embedding is None:
            return self
        return dataclasses.replace(self, embedding=self.embedding.bind(coordinates))

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (Initializer, Embedding)):
                v = v.config()
            elif isinstance(v, tuple):
                v = [list(t) if isinstance(t, tuple) else t for t in v]
            out[f.name] = v
        return out


@final
@dataclass(frozen=True)
class MLP(_NetworkSpec):
    """A multilayer perceptron (the default model): (Linear -> [norm] -> activation) x depth -> Linear.

    Defaults: 4 hidden layers of 32 tanh units, input scaling of the domain's box to
    [-1, 1], Glorot normal weights and zero biases. See :mod:`pinnopt.nn.models` for the
    options, e.g. ``po.nn.MLP(width=64, init=po.init.KaimingNormal(), norm="layer",
    output_scale=10.0)``.
    """

    kind: ClassVar[str] = "MLP"

    def _one(
        self, in_dim: int, out_dim: int, bounds: Bounds | None, scale: tuple[float, ...] | None
    ) -> nn.Module:
        if self.norm is None and self.embedding is None and self.adaptive is None and scale is None:
            input_map = self._input_map(in_dim, bounds)
            return MLPNet(
                in_dim, out_dim, self.width, self.depth, self.activation, scaling=input_map, initialize=False
            )
        return self._feed_forward(in_dim, out_dim, bounds, scale, residual=False)


@final
@dataclass(frozen=True)
class ResidualMLP(_NetworkSpec):
    """An MLP with identity skip connections: ``h <- h + act(norm(W h + b))`` after the first layer."""

    kind: ClassVar[str] = "ResidualMLP"

    def _one(
        self, in_dim: int, out_dim: int, bounds: Bounds | None, scale: tuple[float, ...] | None
    ) -> nn.Module:
        return self._feed_forward(in_dim, out_dim, bounds, scale, residual=True)


@final
@dataclass(frozen=True)
class ModifiedMLP(_NetworkSpec):
    """The modified MLP of Wang, Teng & Perdikaris (2021): encoders U, V and gates Z.

    ``H_{k+1} = (1 - Z_k) * U + Z_k * V`` with ``Z_k = act(W_k H_k + b_k)``; ``depth``
    counts the hidden layers ``H_1 ... H_depth``. Hidden-layer normalization is not offered.
    """

    kind: ClassVar[str] = "ModifiedMLP"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.norm is not None:
            raise ConfigError(
                f"ModifiedMLP(norm={self.norm!r}): normalization is not offered for the modified MLP"
            )

    def _one(
        self, in_dim: int, out_dim: int, bounds: Bounds | None, scale: tuple[float, ...] | None
    ) -> nn.Module:
        return ModifiedMLPNet(
            in_dim,
            out_dim,
            self.width,
            self.depth,
            self.activation,
            **self._net_options(in_dim, bounds, scale),
        )


MODELS: Mapping[str, type[_NetworkSpec]] = MappingProxyType(
    {cls.kind: cls for cls in (MLP, ResidualMLP, ModifiedMLP)}
)
"""Model spec classes by ``kind``."""


def model_from_config(config: Mapping[str, Any]) -> ModelSpec:
    """Rebuild a model specification saved by ``spec.config()``."""
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    cls = MODELS.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ConfigError(
            f"unknown model kind {kind!r} in saved configuration; expected one of {sorted(MODELS)}"
        )
    if cfg.get("init") is not None:
        cfg["init"] = initializer_from_config(cfg["init"])
    if cfg.get("embedding") is not None:
        cfg["embedding"] = embedding_from_config(cfg["embedding"])
    if isinstance(cfg.get("output_scale"), list):
        cfg["output_scale"] = tuple(cfg["output_scale"])
    try:
        return cls(**cfg)
    except TypeError as exc:
        raise ConfigError(f"bad settings for model {kind!r}: {cfg} ({exc})") from exc
