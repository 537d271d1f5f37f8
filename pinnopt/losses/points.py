"""Point sets: the points a group of terms is evaluated on, with per-point data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ..domain.sampling import PointSource


@dataclass
class PointSet:
    """Points of one region, shape ``(N, dim)``, plus per-point tensors of leading size N.

    ``data`` holds what terms read point by point: outward normals (``"normal"``),
    observed values, per-point weights. Batching takes the same rows of every tensor.
    """

    name: str
    x: torch.Tensor
    data: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def draw(
        cls,
        source: PointSource,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        n: int | None = None,
    ) -> PointSet:
        """Draw a fresh point set from ``source`` (``n`` points, default its own count)."""
        x, data = source.draw(generator, dtype, device, n)
        return cls(source.name, x, data)

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        for key, value in self.data.items():
            if value.shape[0] != n:
                raise ValueError(
                    f"point set {self.name!r}: data {key!r} has {value.shape[0]} rows, expected {n}"
                )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, index: torch.Tensor) -> PointSet:
        """The rows ``index`` of the points and of every per-point tensor."""
        return PointSet(self.name, self.x[index], {k: v[index] for k, v in self.data.items()})

    def head(self, n: int | None) -> PointSet:
        """The first ``n`` points (all of them when ``n`` is None)."""
        return self.take(slice(None, n))  # type: ignore[arg-type]

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> PointSet:
        """Cast floating tensors to ``dtype`` and move everything to ``device``."""

        def conv(t: torch.Tensor) -> torch.Tensor:
            if t.is_floating_point() and dtype is not None:
                return t.to(dtype=dtype, device=device)
            return t.to(device=device)

        return PointSet(self.name, conv(self.x), {k: conv(v) for k, v in self.data.items()})


def total_points(sets: Mapping[str, PointSet]) -> int:
    """Number of points over all sets."""
    return sum(len(s) for s in sets.values())
