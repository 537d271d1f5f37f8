"""Samplers: how points of the unit cube are drawn before a region maps them into place.

Every region is parametrized by a unit cube (an interval's points by ``[0, 1)``, a disk by
radius and angle, a product by the columns of its factors); a :class:`Sampler` decides how
the unit-cube points are spread. All samplers are seeded from the ``torch.Generator`` they
are given, so a seed reproduces the points.

* :class:`Uniform` draws with ``torch.rand`` directly on the training device.
* :class:`Grid` lays a regular, cell-centred grid: ``ceil(n ** (1 / d)) ** d`` points
  (about ``n``; regions drawn by rejection keep every grid point that falls inside).
* :class:`LatinHypercube`, :class:`Sobol` and :class:`Halton` use ``scipy.stats.qmc``, which
  runs on the CPU: the points are generated there and moved to the device once.
"""

from __future__ import annotations

import abc
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError


class Sampler(abc.ABC):
    """Draws points in the unit cube ``[0, 1)^dim`` (float64, on ``device``)."""

    exact_count: bool = True
    """False when the sampler returns about, not exactly, the requested number of points."""

    name: str = "sampler"

    @abc.abstractmethod
    def unit(self, n: int, dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """Return ``(n, dim)`` points in the unit cube (``(m, dim)``, ``m >= n``, for grids)."""


@dataclass(frozen=True)
class Uniform(Sampler):
    """Independent uniform random points, drawn on the device."""

    name = "uniform"

    def unit(self, n: int, dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        return torch.rand(n, dim, generator=generator, dtype=torch.float64, device=device)


@dataclass(frozen=True)
class Grid(Sampler):
    """A regular cell-centred grid, ``k = ceil(n ** (1/dim))`` points per axis (``k**dim`` in all).

    Centred cells keep interior points off the boundary. The generator is not used.
    """

    name = "grid"
    exact_count = False

    def unit(self, n: int, dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        k = max(1, math.ceil(n ** (1.0 / dim) - 1e-9))
        axis = (torch.arange(k, dtype=torch.float64, device=device) + 0.5) / k
        mesh = torch.meshgrid(*([axis] * dim), indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=1)


class _QMCSampler(Sampler):
    """A ``scipy.stats.qmc`` engine seeded from the torch generator (CPU, then moved once)."""

    def _engine(self, dim: int, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def unit(self, n: int, dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        engine = self._engine(dim, np.random.default_rng(seed))
        with warnings.catch_warnings():
            # Sobol warns when n is not a power of two; the points are still valid.
            warnings.simplefilter("ignore", UserWarning)
            pts = engine.random(n)
        return torch.as_tensor(np.ascontiguousarray(pts), dtype=torch.float64).to(device)


def _qmc(cls: Any, dim: int, rng: np.random.Generator, **kwargs: Any) -> Any:
    """Build a qmc engine with ``rng=`` (scipy >= 1.15) or ``seed=`` (older scipy)."""
    try:
        return cls(dim, rng=rng, **kwargs)
    except TypeError:
        return cls(dim, seed=rng, **kwargs)


@dataclass(frozen=True)
class LatinHypercube(_QMCSampler):
    """Latin hypercube sampling (``scipy.stats.qmc.LatinHypercube``); each call is a new design.

    Args:
        centered: put each point at the centre of its stratum instead of randomly inside it.
    """

    centered: bool = False
    name = "lhs"

    def _engine(self, dim: int, rng: np.random.Generator) -> Any:
        from scipy.stats import qmc

        return _qmc(qmc.LatinHypercube, dim, rng, scramble=not self.centered)


@dataclass(frozen=True)
class Sobol(_QMCSampler):
    """A (by default scrambled) Sobol sequence; powers of two keep its balance properties.

    Args:
        scramble: Owen-type scrambling seeded by the generator; without it every draw
            returns the same deterministic points, starting at the origin.
    """

    scramble: bool = True
    name = "sobol"

    def _engine(self, dim: int, rng: np.random.Generator) -> Any:
        from scipy.stats import qmc

        return _qmc(qmc.Sobol, dim, rng, scramble=self.scramble)


@dataclass(frozen=True)
class Halton(_QMCSampler):
    """A (by default scrambled) Halton sequence.

    Args:
        scramble: randomized permutations seeded by the generator.
    """

    scramble: bool = True
    name = "halton"

    def _engine(self, dim: int, rng: np.random.Generator) -> Any:
        from scipy.stats import qmc

        return _qmc(qmc.Halton, dim, rng, scramble=self.scramble)


SAMPLERS: dict[str, type[Sampler]] = {
    "uniform": Uniform,
    "random": Uniform,
    "grid": Grid,
    "lhs": LatinHypercube,
    "latin_hypercube": LatinHypercube,
    "sobol": Sobol,
    "halton": Halton,
}
"""Sampler names accepted wherever a sampler is expected."""


def resolve_sampler(spec: Sampler | str | None) -> Sampler:
    """A sampler from an instance, a name of :data:`SAMPLERS`, or None (uniform)."""
    if spec is None:
        return Uniform()
    if isinstance(spec, Sampler):
        return spec
    if isinstance(spec, str) and spec.lower() in SAMPLERS:
        return SAMPLERS[spec.lower()]()
    raise ConfigError(
        f"sampler={spec!r}: expected a po.sample.Sampler (Uniform, Grid, LatinHypercube, Sobol, Halton) or "
        f"one of the names {sorted(SAMPLERS)}"
    )
