"""Input embeddings: maps applied to the (scaled) coordinates before the first Linear layer.

An :class:`Embedding` is a frozen spec. ``build(in_dim, bounds)`` returns the module and
``out_dim(in_dim)`` its width. The module receives the coordinates after input scaling
(``[-1, 1]`` on the domain's box by default); ``bounds`` is the box in the user's
coordinates, so an embedding defined in those coordinates (for example an exactly periodic
one, ``cos(2 pi k x / P)``, ``sin(2 pi k x / P)`` for chosen coordinates) can convert its
periods to the scaled ones. Subclass :class:`Embedding`, give it a ``kind`` and pass a table
entry to :func:`embedding_from_config`.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, ClassVar, final

import torch
from torch import nn

from ..errors import ConfigError

Bounds = tuple[Sequence[float], Sequence[float]]


class Embedding(abc.ABC):
    """Base of input-embedding specs."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def out_dim(self, in_dim: int) -> int:
        """Width of the embedding of ``in_dim`` coordinates."""

    @abc.abstractmethod
    def build(self, in_dim: int, bounds: Bounds | None = None) -> nn.Module:
        """The embedding module for ``in_dim`` coordinates (``bounds``: the user's box)."""

    def config(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


class FourierFeatureLayer(nn.Module):
    """``[cos(2 pi x B^T), sin(2 pi x B^T)]`` with a fixed (or trainable) matrix ``B``."""

    def __init__(self, frequencies: torch.Tensor, trainable: bool = False) -> None:
        super().__init__()
        if trainable:
            self.B = nn.Parameter(frequencies)
        else:
            self.register_buffer("B", frequencies)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (2 * math.pi) * (x @ self.B.T)
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)


@final
@dataclass(frozen=True)
class FourierFeatures(Embedding):
    """Random Fourier features (Tancik et al. 2020): ``B ~ N(0, sigma^2)``, ``features`` rows.

    The embedding has ``2 * features`` outputs. ``sigma`` sets the frequency scale relative
    to the scaled coordinates: larger sigma resolves finer structure but fits noise more
    easily. ``B`` is drawn from torch's global generator when the network is built (so
    ``solve(seed=...)`` fixes it) and saved in the state dict.
    """

    kind: ClassVar[str] = "FourierFeatures"
    features: int = 64
    sigma: float = 1.0
    trainable: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.features, bool) or not isinstance(self.features, int) or self.features < 1:
            raise ConfigError(f"FourierFeatures(features={self.features!r}): expected a positive int")
        if (
            isinstance(self.sigma, bool)
            or not isinstance(self.sigma, (int, float))
            or not 0 < self.sigma < math.inf
        ):
            raise ConfigError(f"FourierFeatures(sigma={self.sigma!r}): expected a positive finite number")

    def out_dim(self, in_dim: int) -> int:
        return 2 * self.features

    def build(self, in_dim: int, bounds: Bounds | None = None) -> nn.Module:
        b = torch.randn(self.features, in_dim) * float(self.sigma)
        return FourierFeatureLayer(b, self.trainable)


EMBEDDINGS: Mapping[str, type[Embedding]] = MappingProxyType({"FourierFeatures": FourierFeatures})
"""Embedding spec classes by ``kind``."""


def embedding_from_config(
    config: Mapping[str, Any], extra: Mapping[str, type[Embedding]] | None = None
) -> Embedding:
    """Rebuild an embedding spec from :meth:`Embedding.config` (``extra``: more kinds)."""
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    table = {**EMBEDDINGS, **(extra or {})}
    cls = table.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ConfigError(f"unknown embedding {kind!r}; expected one of {sorted(table)}")
    try:
        return cls(**cfg)
    except TypeError as exc:
        raise ConfigError(f"bad settings for embedding {kind!r}: {cfg} ({exc})") from exc
