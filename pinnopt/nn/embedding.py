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
from .norm import InputScaling

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

    def build_for(self, in_dim: int, bounds: Bounds | None, input_map: nn.Module | None) -> nn.Module:
        """The module placed after ``input_map`` (default: :meth:`build`; the model specs call this)."""
        return self.build(in_dim, bounds)

    def bind(self, coordinates: Sequence[str]) -> Embedding:
        """This spec with coordinate names resolved against the problem's (default: unchanged)."""
        return self

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


class PeriodicLayer(nn.Module):
    """``[other coordinates, cos(k theta_a), sin(k theta_a) for k = 1..K, for each periodic a]``.

    ``theta_a = freq_a * h_a + shift_a`` is ``2 pi (x_a - lower_a) / period_a`` written in the
    scaled input ``h`` that the layer receives, so the features are exactly periodic in the
    user's coordinate ``x_a`` (values and every derivative).
    """

    def __init__(
        self, in_dim: int, axes: Sequence[int], freq: Sequence[float], shift: Sequence[float], k: int
    ):
        super().__init__()
        self.axes = tuple(int(a) for a in axes)
        self.others = tuple(i for i in range(in_dim) if i not in self.axes)
        self.register_buffer("freq", torch.tensor(list(freq), dtype=torch.float64))
        self.register_buffer("shift", torch.tensor(list(shift), dtype=torch.float64))
        self.register_buffer("k", torch.arange(1, k + 1, dtype=torch.float64))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        theta = h[:, list(self.axes)] * self.freq + self.shift  # (N, P)
        kt = (theta[:, :, None] * self.k).reshape(h.shape[0], len(self.axes) * len(self.k))  # (N, P K)
        parts = [h[:, list(self.others)]] if self.others else []
        return torch.cat([*parts, torch.cos(kt), torch.sin(kt)], dim=-1)


@final
@dataclass(frozen=True)
class PeriodicEmbedding(Embedding):
    """Exact periodicity: ``cos(k theta)``, ``sin(k theta)``, ``k = 1..harmonics`` of periodic coordinates.

    ``theta = 2 pi (x - lower) / period`` for each coordinate of ``coordinates`` (names such as
    ``"x"`` or indices); the other coordinates pass through unchanged. Every function of
    these features is periodic in ``x`` with the given period, so periodic conditions (values
    and all derivatives) hold exactly and need no loss term. ``period`` defaults to the
    width of the domain in that coordinate (a number applies to every periodic coordinate,
    a tuple gives one each). ``harmonics=1`` is the embedding of Dong & Ni (2021) used for
    convection and Allen-Cahn; more harmonics help sharper periodic profiles.
    """

    kind: ClassVar[str] = "PeriodicEmbedding"
    coordinates: tuple[int | str, ...] = ("x",)
    harmonics: int = 1
    period: float | tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        coords = self.coordinates
        if isinstance(coords, (str, int)) or hasattr(coords, "free_symbols"):
            coords = (coords,)
        try:
            items = tuple(
                c if isinstance(c, (int, str)) and not isinstance(c, bool) else str(c) for c in coords
            )
        except TypeError as exc:
            raise ConfigError(
                f"PeriodicEmbedding(coordinates={self.coordinates!r}): expected names or indices"
            ) from exc
        if not items or len(set(items)) != len(items) or any(isinstance(c, int) and c < 0 for c in items):
            raise ConfigError(
                f"PeriodicEmbedding(coordinates={self.coordinates!r}): expected distinct names or "
                "indices >= 0"
            )
        object.__setattr__(self, "coordinates", items)
        h = self.harmonics
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ConfigError(f"PeriodicEmbedding(harmonics={h!r}): expected an int >= 1")
        if self.period is not None:
            per = (self.period,) if isinstance(self.period, (int, float)) else tuple(self.period)
            if not per or any(
                isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < math.inf for p in per
            ):
                raise ConfigError(
                    f"PeriodicEmbedding(period={self.period!r}): expected positive finite number(s) or None"
                )
            if len(per) not in (1, len(items)):
                raise ConfigError(
                    f"PeriodicEmbedding(period={self.period!r}): expected one period or one per coordinate"
                )
            object.__setattr__(self, "period", float(per[0]) if len(per) == 1 else tuple(map(float, per)))

    def bind(self, coordinates: Sequence[str]) -> PeriodicEmbedding:
        names = [str(c) for c in coordinates]
        axes = []
        for c in self.coordinates:
            if isinstance(c, int):
                if c >= len(names):
                    raise ConfigError(f"PeriodicEmbedding: coordinate index {c} but the problem has {names}")
                axes.append(c)
            elif c in names:
                axes.append(names.index(c))
            else:
                raise ConfigError(f"PeriodicEmbedding: no coordinate named {c!r}; the problem has {names}")
        return PeriodicEmbedding(tuple(axes), self.harmonics, self.period)

    def _axes(self, in_dim: int) -> tuple[int, ...]:
        named = [c for c in self.coordinates if isinstance(c, str)]
        if named:
            raise ConfigError(
                f"PeriodicEmbedding names coordinates {named}: build it through po.solve (which resolves "
                "names against the problem) or give coordinate indices"
            )
        axes = tuple(int(c) for c in self.coordinates)
        if any(a >= in_dim for a in axes):
            raise ConfigError(f"PeriodicEmbedding(coordinates={axes}): the input has {in_dim} coordinates")
        return axes

    def out_dim(self, in_dim: int) -> int:
        p = len(self.coordinates)
        return in_dim - p + 2 * self.harmonics * p

    def build(self, in_dim: int, bounds: Bounds | None = None) -> nn.Module:
        """The layer after the default box scaling of ``bounds`` onto [-1, 1]."""
        scaling = None
        if bounds is not None:
            scaling = InputScaling(*bounds)
        return self.build_for(in_dim, bounds, scaling)

    def build_for(self, in_dim: int, bounds: Bounds | None, input_map: nn.Module | None) -> nn.Module:
        """The layer after ``input_map`` (an affine input scaling or standardization, or None).

        Without ``bounds`` and ``period``, the input is taken as already scaled to [-1, 1]
        (period 2), e.g. when only counting parameters.
        """
        axes = self._axes(in_dim)
        if input_map is not None and not isinstance(input_map, InputScaling):
            raise ConfigError(
                "PeriodicEmbedding needs an affine input scaling in front of it, got "
                f"{type(input_map).__name__}"
            )
        per = self.period
        periods = [per] * len(axes) if isinstance(per, float) else list(per) if per is not None else None
        freq, shift = [], []
        for j, a in enumerate(axes):
            if bounds is None:
                lower = -1.0 if periods is None else 0.0
                width = 2.0 if periods is None else periods[j]
                scale, center = 1.0, 0.0
            else:
                lower = float(bounds[0][a])
                width = periods[j] if periods is not None else float(bounds[1][a]) - lower
                if input_map is None:
                    scale, center = 1.0, 0.0
                else:
                    scale = float(input_map.inv_half_width.reshape(-1)[a])
                    center = float(input_map.center.reshape(-1)[a])
            # h = (x - center) * scale  =>  theta = 2 pi (h / scale + center - lower) / width
            freq.append(2 * math.pi / (width * scale))
            shift.append(2 * math.pi * (center - lower) / width)
        return PeriodicLayer(in_dim, axes, freq, shift, self.harmonics)

    def config(self) -> dict[str, Any]:
        per = self.period
        return {
            "kind": self.kind,
            "coordinates": list(self.coordinates),
            "harmonics": self.harmonics,
            "period": list(per) if isinstance(per, tuple) else per,
        }


EMBEDDINGS: Mapping[str, type[Embedding]] = MappingProxyType(
    {"FourierFeatures": FourierFeatures, "PeriodicEmbedding": PeriodicEmbedding}
)
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
