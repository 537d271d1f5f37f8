"""The domain of a problem without coordinates: optimization over parameters only.

``po.Problem(minimize=..., parameters=...)`` declares no domain; its ``domain`` is a
:class:`NoCoordinates`, the single point of a zero-dimensional space, so the compile stage,
the trainer and the result treat it like any other problem (no point sets are drawn).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import ProblemError
from .base import Domain, MappedRegion


class NoCoordinates(Domain):
    """A zero-dimensional domain: no coordinates, no boundary, one (empty) point."""

    coordinates = ()

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (), ()

    @property
    def unit_dim(self) -> int:
        return 0

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, None]:
        return u.new_zeros(u.shape[0], 0), None

    def volume(self) -> float:
        return 1.0

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        return torch.ones(points.shape[0], dtype=torch.bool, device=points.device)

    def pieces(self) -> dict[str, MappedRegion]:
        return {}

    def grid(self, n: int | Sequence[int]) -> torch.Tensor:
        return torch.zeros(1, 0, dtype=torch.float64)

    def region(self, where: object) -> MappedRegion:
        raise ProblemError(
            f"region {where!r}: this problem declares no domain (an optimization over parameters); "
            "give Problem(domain=...) for equations, conditions or bounds on regions"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoCoordinates)

    def __hash__(self) -> int:
        return hash("NoCoordinates")

    def __repr__(self) -> str:
        return "NoCoordinates()"
