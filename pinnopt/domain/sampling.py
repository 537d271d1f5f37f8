"""Collocation: how many points each region gets, how they are drawn, and redrawing them."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .base import PointData, Region
from .samplers import Sampler, resolve_sampler


@dataclass(frozen=True)
class Collocation:
    """Numbers of collocation points and the sampler that places them (drawn before training).

    Args:
        interior: points for equations on the interior.
        boundary: points for each condition region without its own ``On(..., n=...)``.
        sampler: ``"uniform"`` (default, drawn on the training device), ``"grid"``,
            ``"lhs"``, ``"sobol"``, ``"halton"`` (``scipy.stats.qmc`` on the CPU, moved to the
            device once) or a :class:`~pinnopt.domain.samplers.Sampler`.
    """

    interior: int = 2000
    boundary: int = 100
    sampler: Sampler | str = "uniform"

    def __post_init__(self) -> None:
        for name in ("interior", "boundary"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"Collocation({name}={v!r}): expected an int >= 1")
        object.__setattr__(self, "sampler", resolve_sampler(self.sampler))


@dataclass(frozen=True)
class PointSource:
    """Where one point set comes from: a region, a number of points and a sampler.

    Adaptive strategies redraw point sets through their sources.
    """

    name: str
    region: Region
    n: int
    sampler: Sampler

    @property
    def fixed(self) -> bool:
        """True for given points (observations, point conditions): nothing to redraw."""
        return self.region.fixed_points is not None

    def draw(
        self, generator: torch.Generator, dtype: torch.dtype, device: torch.device, n: int | None = None
    ) -> tuple[torch.Tensor, PointData]:
        """Draw ``n`` points (default :attr:`n`) and their per-point data."""
        return self.region.draw(n or self.n, generator, dtype, device, self.sampler)
