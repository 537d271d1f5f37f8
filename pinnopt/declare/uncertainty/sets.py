"""Uncertainty sets: where an uncertain coefficient vector ``xi`` may lie.

Every set offers membership, Euclidean projection (for projected gradient ascent),
seeded sampling, its extreme points where there are finitely many (vertex enumeration),
and a dense point cloud (a grid where one is affordable) for certificates. Sets are
checked when built: the message names the bad input and what was expected.

- :class:`BoxSet`: independent intervals, the classical (and most conservative) case.
- :class:`~pinnopt.robust.Ellipsoid`: ``{xi : (xi - c)^T S^-1 (xi - c) <= r^2}``,
  correlated coefficients.
- :class:`~pinnopt.robust.Budget`: Bertsimas-Sim, ``xi = c + d * z`` with
  ``|z_i| <= 1`` and ``sum |z_i| <= Gamma``: at most Gamma coefficients at their extremes.
- :class:`Scenarios`: a finite list of cases (e.g. measured ones).
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ...errors import ProblemError

ArrayLike = float | Sequence[float] | np.ndarray


def _vector(value: ArrayLike, what: str) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"{what}={value!r}: expected a number or a list of numbers") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ProblemError(f"{what} has shape {arr.shape}; expected a number or a non-empty 1-D list")
    if not np.isfinite(arr).all():
        raise ProblemError(f"{what}={value!r} contains NaN or Inf")
    return arr


def _rows(xi: ArrayLike, dim: int, what: str) -> np.ndarray:
    arr = np.asarray(xi, dtype=np.float64)
    if arr.ndim <= 1:
        arr = arr.reshape(1, -1) if dim > 1 or (arr.ndim == 1 and arr.size == dim) else arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ProblemError(f"{what}: points have shape {np.shape(xi)}; expected ({dim},) or (K, {dim})")
    return arr


class UncertaintySet(abc.ABC):
    """Base class of uncertainty sets of vectors of length :attr:`dim`."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Number of uncertain coefficients the set constrains."""

    @property
    @abc.abstractmethod
    def nominal(self) -> np.ndarray:
        """The set's natural nominal value (its centre; the first scenario of a scenario set)."""

    @abc.abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """A bounding box ``(lower, upper)`` of the set."""

    @abc.abstractmethod
    def _contains(self, xi: np.ndarray, tol: float) -> np.ndarray: ...

    @abc.abstractmethod
    def project(self, xi: torch.Tensor) -> torch.Tensor:
        """Euclidean projection of each row of ``xi`` (``(K, dim)``) onto the set."""

    @abc.abstractmethod
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` points of the set, ``(n, dim)``, drawn with ``generator`` on its device (float64)."""

    def n_vertices(self) -> int | None:
        """Number of extreme points when finite (a polytope or a finite set), else None."""
        return None

    def vertices(self) -> np.ndarray | None:
        """The extreme points ``(V, dim)`` when finitely many, else None.

        The maximum of a function convex in ``xi`` over a polytope is attained at one of
        them, so enumerating them is exact for such losses (and only for them).
        """
        return None

    @property
    def finite(self) -> bool:
        """True for a finite set of points (no interior to climb by gradient ascent)."""
        return False

    def dense(self, n: int, generator: torch.Generator) -> np.ndarray:
        """About ``n`` points covering the set for an independent search (certificates)."""
        pts = [self.sample(n, generator).cpu().numpy()]
        v = self.n_vertices()
        if v is not None and v <= n:
            pts.insert(0, self.vertices())
        pts.append(self.nominal[None, :])
        return np.concatenate(pts)

    def contains(self, xi: ArrayLike, tol: float = 1e-9) -> bool | np.ndarray:
        """Whether ``xi`` (one point or ``(K, dim)`` rows) lies in the set, up to ``tol``."""
        arr = np.asarray(xi, dtype=np.float64)
        rows = _rows(arr, self.dim, f"{type(self).__name__}.contains")
        inside = self._contains(rows, tol)
        single = arr.ndim == 0 or (arr.ndim == 1 and (self.dim > 1 or arr.size == 1))
        return bool(inside[0]) if single else inside

    def scale(self) -> np.ndarray:
        """Per-coordinate half-width of the bounding box (1 where the set is flat)."""
        lo, hi = self.bounds()
        half = (hi - lo) / 2
        return np.where(half > 0, half, 1.0)

    @abc.abstractmethod
    def describe(self) -> str:
        """A short readable description."""

    def _tensor(self, name: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """The array attribute ``name`` as a tensor, cached per dtype and device (no copy per step)."""
        cache = self.__dict__.setdefault("_tensors", {})
        key = (name, dtype, device)
        if key not in cache:
            cache[key] = torch.as_tensor(getattr(self, name), dtype=dtype, device=device)
        return cache[key]

    def __repr__(self) -> str:
        return self.describe()


def _grid_axes(lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    d = len(lo)
    m = max(2, math.floor(n ** (1.0 / d) + 1e-9))
    axes = [np.linspace(a, b, m) if b > a else np.array([a]) for a, b in zip(lo, hi, strict=True)]
    return np.array(list(itertools.product(*axes)), dtype=np.float64)


@dataclass(frozen=True, eq=False, repr=False)
class BoxSet(UncertaintySet):
    """Independent intervals ``lower_i <= xi_i <= upper_i``.

    Args:
        lower: lower bounds (a number for one coefficient, or a list).
        upper: upper bounds, same length; ``lower <= upper``.
    """

    lower: ArrayLike
    upper: ArrayLike

    def __post_init__(self) -> None:
        lo = _vector(self.lower, "BoxSet lower")
        hi = _vector(self.upper, "BoxSet upper")
        if lo.shape != hi.shape:
            raise ProblemError(f"BoxSet: lower has {lo.size} entries but upper has {hi.size}; expected equal")
        bad = np.nonzero(lo > hi)[0]
        if bad.size:
            i = int(bad[0])
            raise ProblemError(
                f"BoxSet: lower[{i}] = {lo[i]:g} > upper[{i}] = {hi[i]:g}; expected lower <= upper"
            )
        object.__setattr__(self, "_lo", lo)
        object.__setattr__(self, "_hi", hi)

    @property
    def dim(self) -> int:
        return int(self._lo.size)

    @property
    def nominal(self) -> np.ndarray:
        return (self._lo + self._hi) / 2

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self._lo.copy(), self._hi.copy()

    def _contains(self, xi: np.ndarray, tol: float) -> np.ndarray:
        slack = tol * np.maximum(1.0, np.abs(self._hi - self._lo))
        return np.all((xi >= self._lo - slack) & (xi <= self._hi + slack), axis=1)

    def project(self, xi: torch.Tensor) -> torch.Tensor:
        lo = self._tensor("_lo", xi.dtype, xi.device)
        hi = self._tensor("_hi", xi.dtype, xi.device)
        return torch.maximum(torch.minimum(xi, hi), lo)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        dev = generator.device
        u = torch.rand(n, self.dim, generator=generator, dtype=torch.float64, device=dev)
        lo = self._tensor("_lo", torch.float64, dev)
        return lo + u * (self._tensor("_hi", torch.float64, dev) - lo)

    def n_vertices(self) -> int:
        return 2 ** int(np.sum(self._hi > self._lo))

    def vertices(self) -> np.ndarray:
        axes = [(a, b) if b > a else (a,) for a, b in zip(self._lo, self._hi, strict=True)]
        return np.array(list(itertools.product(*axes)), dtype=np.float64)

    def dense(self, n: int, generator: torch.Generator) -> np.ndarray:
        if self.dim <= 3:
            return _grid_axes(self._lo, self._hi, n)
        return super().dense(n, generator)

    def describe(self) -> str:
        if self.dim == 1:
            return f"BoxSet({self._lo[0]:g}, {self._hi[0]:g})"
        return f"BoxSet({self._lo.tolist()}, {self._hi.tolist()})"


@dataclass(frozen=True, eq=False, repr=False)
class Scenarios(UncertaintySet):
    """A finite set of cases, ``(K, n)`` (a list of numbers is K cases of one coefficient).

    The first scenario is the nominal case unless the declaration says otherwise.
    """

    points: Sequence[ArrayLike] | np.ndarray

    def __post_init__(self) -> None:
        try:
            pts = np.asarray(self.points, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ProblemError(
                f"Scenarios: {self.points!r} is not a list of equally long cases; expected (K, n) numbers"
            ) from exc
        if pts.size == 0:
            raise ProblemError("Scenarios: the scenario list is empty; expected at least one case")
        if pts.ndim == 1:
            pts = pts[:, None]
        if pts.ndim != 2:
            raise ProblemError(f"Scenarios: cases have shape {pts.shape}; expected (K, n)")
        if not np.isfinite(pts).all():
            raise ProblemError("Scenarios: a case contains NaN or Inf")
        object.__setattr__(self, "_p", pts)

    @property
    def dim(self) -> int:
        return int(self._p.shape[1])

    @property
    def nominal(self) -> np.ndarray:
        return self._p[0].copy()

    @property
    def finite(self) -> bool:
        return True

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self._p.min(0), self._p.max(0)

    def _contains(self, xi: np.ndarray, tol: float) -> np.ndarray:
        scale = np.maximum(1.0, np.abs(self._p).max(0))
        dist = np.abs(xi[:, None, :] - self._p[None, :, :]) / scale
        return (dist.max(2) <= tol).any(1)

    def project(self, xi: torch.Tensor) -> torch.Tensor:
        p = self._tensor("_p", xi.dtype, xi.device)
        return p[torch.cdist(xi, p).argmin(1)]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(self._p), (n,), generator=generator, device=generator.device)
        return self._tensor("_p", torch.float64, generator.device)[idx]

    def n_vertices(self) -> int:
        return len(np.unique(self._p, axis=0))

    def vertices(self) -> np.ndarray:
        return np.unique(self._p, axis=0)

    def dense(self, n: int, generator: torch.Generator) -> np.ndarray:
        return self.vertices()

    def describe(self) -> str:
        return f"Scenarios({len(self._p)} cases of {self.dim})"
