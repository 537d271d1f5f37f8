"""Weight initialization schemes for the Linear layers of a network.

Every scheme is a frozen dataclass derived from :class:`Initializer`. It fills the weight
of every ``nn.Linear`` of a network with a documented distribution (:meth:`Initializer.std`
gives the intended standard deviation) and sets biases to zero. The same rule applies to
every Linear layer, the first and the output layer included; ``fan_in`` and ``fan_out``
are the layer's input and output widths.

=================  ====================================================================
scheme             weight distribution
=================  ====================================================================
Zero               all zeros (warns: symmetry cannot break)
RandomNormal       N(0, sigma^2)
RandomUniform      U(-sqrt(3) sigma, sqrt(3) sigma)  (standard deviation sigma)
GlorotNormal       N(0, gain^2 * 2 / (fan_in + fan_out)), gain 1 by default
GlorotUniform      U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))
KaimingNormal      N(0, (gain / sqrt(fan))^2), gain of the activation, fan = fan_in
KaimingUniform     U(-a, a), a = gain * sqrt(3 / fan)
LeCunNormal        N(0, 1 / fan_in)
LeCunUniform       U(-a, a), a = sqrt(3 / fan_in)
Orthogonal         gain * (semi-)orthogonal matrix; entry std gain / sqrt(max(fan_in, fan_out))
=================  ====================================================================

Kaiming's default gain comes from :data:`pinnopt.nn.activations.GAINS` (tanh 5/3, relu
sqrt(2), sigmoid 1, linear 1, ...); give ``gain=`` to override it or ``extra_gains=`` to
add activations.
"""

from __future__ import annotations

import abc
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar, final

import torch
from torch import nn

from ..errors import ConfigError, PinnoptWarning
from .activations import gain as activation_gain


def linear_layers(net: nn.Module) -> list[nn.Linear]:
    """Every ``nn.Linear`` of ``net``, in registration order."""
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


class Initializer(abc.ABC):
    """Base of the initialization schemes: fills Linear weights, zeroes biases.

    After filling, a network module may adjust biases through an ``init_biases_(generator)``
    method (the layer/group-normalized networks draw their first layer's biases from
    U(-1, 1); see :class:`~pinnopt.nn.networks.FeedForwardNet`). :class:`Zero` skips that.
    """

    kind: ClassVar[str]
    bias_rules: ClassVar[bool] = True

    @abc.abstractmethod
    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        """The standard deviation of the weights of a ``fan_out x fan_in`` layer."""

    @abc.abstractmethod
    def fill_(self, weight: torch.Tensor, activation: str, generator: torch.Generator | None = None) -> None:
        """Fill ``weight`` (shape ``(fan_out, fan_in)``) in place."""

    def initialize(self, net: nn.Module, activation: str, generator: torch.Generator | None = None) -> None:
        """Initialize every Linear layer of ``net`` (weights by the scheme, biases zero)."""
        with torch.no_grad():
            for layer in linear_layers(net):
                self.fill_(layer.weight, activation, generator)
                if layer.bias is not None:
                    layer.bias.zero_()
            if self.bias_rules:
                for module in net.modules():
                    rule = getattr(module, "init_biases_", None)
                    if callable(rule):
                        rule(generator)

    def config(self) -> dict[str, Any]:
        """A JSON-ready description; :func:`~pinnopt.nn.init.initializer_from_config` rebuilds the scheme."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = dict(v) if isinstance(v, tuple) and f.name == "extra_gains" else v
        return out


def _check_positive(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise ConfigError(f"{owner}({name}={value!r}): expected a positive finite number")


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    if weight.dim() != 2:
        raise ConfigError(f"initializers fill Linear weights (2-D), got shape {tuple(weight.shape)}")
    fan_out, fan_in = weight.shape
    return int(fan_in), int(fan_out)


def _normal_(w: torch.Tensor, std: float, generator: torch.Generator | None) -> None:
    w.normal_(0.0, std, generator=generator)


def _uniform_(w: torch.Tensor, std: float, generator: torch.Generator | None) -> None:
    bound = math.sqrt(3.0) * std
    w.uniform_(-bound, bound, generator=generator)


class _StdScheme(Initializer):
    """A scheme defined by its standard deviation and a normal or uniform shape."""

    uniform: ClassVar[bool] = False

    def fill_(self, weight: torch.Tensor, activation: str, generator: torch.Generator | None = None) -> None:
        fan_in, fan_out = _fans(weight)
        std = self.std(fan_in, fan_out, activation)
        (_uniform_ if self.uniform else _normal_)(weight, std, generator)


@final
@dataclass(frozen=True)
class Zero(Initializer):
    """All weights and biases zero.

    Allowed, but every hidden unit then computes the same function and receives the same
    gradient, so training cannot break the symmetry between units (with zero-centred
    activations such as tanh the hidden layers even stay exactly zero). Warns with
    :class:`~pinnopt.errors.PinnoptWarning` when applied.
    """

    kind: ClassVar[str] = "Zero"
    bias_rules: ClassVar[bool] = False

    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        return 0.0

    def fill_(self, weight: torch.Tensor, activation: str, generator: torch.Generator | None = None) -> None:
        weight.zero_()

    def initialize(self, net: nn.Module, activation: str, generator: torch.Generator | None = None) -> None:
        warnings.warn(
            "zero initialization: every hidden unit gets the same gradient, so the units cannot "
            "break symmetry and the network stays (nearly) constant; use a random scheme such as "
            "po.init.GlorotNormal() or po.init.KaimingNormal()",
            PinnoptWarning,
            stacklevel=3,
        )
        super().initialize(net, activation, generator)


@dataclass(frozen=True)
class _SigmaScheme(_StdScheme):
    sigma: float = 0.1

    def __post_init__(self) -> None:
        _check_positive(self.kind, "sigma", self.sigma)

    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        return float(self.sigma)


@final
@dataclass(frozen=True)
class RandomNormal(_SigmaScheme):
    """Weights ~ N(0, sigma^2), whatever the layer shape."""

    kind: ClassVar[str] = "RandomNormal"


@final
@dataclass(frozen=True)
class RandomUniform(_SigmaScheme):
    """Weights ~ U(-sqrt(3) sigma, sqrt(3) sigma): standard deviation sigma."""

    kind: ClassVar[str] = "RandomUniform"
    uniform: ClassVar[bool] = True


@dataclass(frozen=True)
class _GlorotScheme(_StdScheme):
    gain: float = 1.0

    def __post_init__(self) -> None:
        _check_positive(self.kind, "gain", self.gain)

    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        return float(self.gain) * math.sqrt(2.0 / (fan_in + fan_out))


@final
@dataclass(frozen=True)
class GlorotNormal(_GlorotScheme):
    """Glorot/Xavier normal: std = gain * sqrt(2 / (fan_in + fan_out)); gain 1 by default."""

    kind: ClassVar[str] = "GlorotNormal"


@final
@dataclass(frozen=True)
class GlorotUniform(_GlorotScheme):
    """Glorot/Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)); gain 1 by default."""

    kind: ClassVar[str] = "GlorotUniform"
    uniform: ClassVar[bool] = True


@dataclass(frozen=True)
class _KaimingScheme(_StdScheme):
    gain: float | None = None
    mode: str = "fan_in"
    extra_gains: Mapping[str, float] | tuple[tuple[str, float], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.gain is not None:
            _check_positive(self.kind, "gain", self.gain)
        if self.mode not in ("fan_in", "fan_out"):
            raise ConfigError(f"{self.kind}(mode={self.mode!r}): expected 'fan_in' or 'fan_out'")
        extra = self.extra_gains
        items = tuple(sorted(dict(extra).items())) if isinstance(extra, Mapping) else tuple(extra)
        for name, value in items:
            _check_positive(self.kind, f"extra_gains[{name!r}]", value)
        object.__setattr__(self, "extra_gains", tuple((str(k), float(v)) for k, v in items))

    def gain_for(self, activation: str) -> float:
        """The gain used for ``activation``."""
        if self.gain is not None:
            return float(self.gain)
        return activation_gain(activation, dict(self.extra_gains))  # type: ignore[arg-type]

    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        fan = fan_in if self.mode == "fan_in" else fan_out
        return self.gain_for(activation) / math.sqrt(fan)


_KAIMING_ARGS = """

    Args:
        gain: overrides the activation's gain (default: looked up in ``extra_gains``, then
            in :data:`~pinnopt.nn.activations.GAINS`).
        mode: ``"fan_in"`` (default; preserves the activation variance in the forward pass)
            or ``"fan_out"`` (preserves the gradient variance in the backward pass).
        extra_gains: additional ``{activation: gain}`` entries, taking precedence.
    """


@final
@dataclass(frozen=True)
class KaimingNormal(_KaimingScheme):
    __doc__ = "Kaiming/He normal: N(0, (gain / sqrt(fan))^2)." + _KAIMING_ARGS

    kind: ClassVar[str] = "KaimingNormal"


@final
@dataclass(frozen=True)
class KaimingUniform(_KaimingScheme):
    __doc__ = "Kaiming/He uniform: U(-a, a), a = gain * sqrt(3 / fan)." + _KAIMING_ARGS

    kind: ClassVar[str] = "KaimingUniform"
    uniform: ClassVar[bool] = True


class _LeCunScheme(_StdScheme):
    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        return 1.0 / math.sqrt(fan_in)


@final
@dataclass(frozen=True)
class LeCunNormal(_LeCunScheme):
    """LeCun normal: N(0, 1 / fan_in) (Kaiming with gain 1)."""

    kind: ClassVar[str] = "LeCunNormal"


@final
@dataclass(frozen=True)
class LeCunUniform(_LeCunScheme):
    """LeCun uniform: U(-a, a), a = sqrt(3 / fan_in)."""

    kind: ClassVar[str] = "LeCunUniform"
    uniform: ClassVar[bool] = True


@final
@dataclass(frozen=True)
class Orthogonal(Initializer):
    """``gain`` times a random (semi-)orthogonal matrix (Saxe et al. 2014).

    Rows are orthonormal when ``fan_out <= fan_in``, columns otherwise, so the entries have
    standard deviation ``gain / sqrt(max(fan_in, fan_out))``.
    """

    kind: ClassVar[str] = "Orthogonal"
    gain: float = 1.0

    def __post_init__(self) -> None:
        _check_positive(self.kind, "gain", self.gain)

    def std(self, fan_in: int, fan_out: int, activation: str = "linear") -> float:
        return float(self.gain) / math.sqrt(max(fan_in, fan_out))

    def fill_(self, weight: torch.Tensor, activation: str, generator: torch.Generator | None = None) -> None:
        _fans(weight)
        nn.init.orthogonal_(weight, gain=float(self.gain), generator=generator)


SCHEMES: Mapping[str, type[Initializer]] = MappingProxyType(
    {
        cls.kind: cls
        for cls in (
            Zero,
            RandomNormal,
            RandomUniform,
            GlorotNormal,
            GlorotUniform,
            KaimingNormal,
            KaimingUniform,
            LeCunNormal,
            LeCunUniform,
            Orthogonal,
        )
    }
)
"""Scheme classes by their ``kind`` (used to rebuild saved configurations)."""


def scheme_from_config(config: Mapping[str, Any]) -> Initializer:
    """Rebuild a scheme of :data:`SCHEMES` from :meth:`Initializer.config`."""
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    cls = SCHEMES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ConfigError(f"unknown initialization scheme {kind!r}; expected one of {sorted(SCHEMES)}")
    try:
        return cls(**cfg)
    except TypeError as exc:
        raise ConfigError(f"bad settings for initialization scheme {kind!r}: {cfg} ({exc})") from exc
