"""Intervals and their products (boxes, space-time cylinders)."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
import torch

from ..errors import ProblemError
from .base import Domain, Region


class Interval(Domain):
    """A closed interval ``lower <= symbol <= upper`` of one coordinate.

    Its boundary pieces are named ``"x=-1"`` and ``"x=1"`` (coordinate, ``=``, value as
    written by ``f"{value:g}"``); ``sympy.Eq(x, -1)`` resolves to the same piece.
    """

    def __init__(self, symbol: sp.Symbol, lower: float, upper: float) -> None:
        if not isinstance(symbol, sp.Symbol):
            raise ProblemError(f"Interval needs a sympy Symbol as coordinate, got {symbol!r}")
        try:
            lo, hi = float(lower), float(upper)
        except (TypeError, ValueError) as exc:
            raise ProblemError(f"Interval({symbol}, {lower!r}, {upper!r}): bounds must be numbers") from exc
        if not (lo < hi) or not all(map(_finite, (lo, hi))):
            raise ProblemError(
                f"Interval({symbol}, {lower}, {upper}): expected finite bounds with lower < upper"
            )
        self.symbol = symbol
        self.lower = lo
        self.upper = hi
        self.coordinates = (symbol,)

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (self.lower,), (self.upper,)

    def sample_interior(
        self, n: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        u = torch.rand(n, 1, generator=generator, dtype=dtype, device=device)
        return self.lower + (self.upper - self.lower) * u

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        x = points[:, 0]
        return (x >= self.lower - tol) & (x <= self.upper + tol)

    def pieces(self) -> dict[str, Region]:
        lo = Face(self.symbol, self.lower, axis=0, outward=-1.0, dim=1)
        hi = Face(self.symbol, self.upper, axis=0, outward=1.0, dim=1)
        return {lo.name: lo, hi.name: hi}

    def grid(self, n: int | Sequence[int]) -> torch.Tensor:
        (k,) = _per_axis(n, 1)
        return torch.linspace(self.lower, self.upper, k, dtype=torch.float64)[:, None]

    def __repr__(self) -> str:
        return f"Interval({self.symbol}, {self.lower:g}, {self.upper:g})"


class Face(Region):
    """The side ``coordinate = value`` of an interval, embedded in a product domain."""

    def __init__(self, coordinate: sp.Symbol, value: float, *, axis: int, outward: float, dim: int) -> None:
        self.coordinate = coordinate
        self.value = float(value)
        self.axis = axis
        self.outward = outward
        self.dim = dim
        self.name = f"{coordinate}={self.value:g}"
        self.others: list[tuple[int, Interval]] = []

    def sample(
        self, n: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        pts = torch.empty(n, self.dim, dtype=dtype, device=device)
        pts[:, self.axis] = self.value
        for axis, interval in self.others:
            pts[:, axis : axis + 1] = interval.sample_interior(n, generator, dtype, device)
        return pts

    def normals(self, points: torch.Tensor) -> torch.Tensor:
        nrm = torch.zeros_like(points)
        nrm[:, self.axis] = self.outward
        return nrm


class Product(Domain):
    """The Cartesian product of intervals: a box, or a space-time cylinder ``box x [t0, t1]``.

    Built with ``*``: ``Interval(x, -1, 1) * Interval(t, 0, 1)``.
    """

    def __init__(self, factors: Sequence[Interval]) -> None:
        factors = list(factors)
        if len(factors) < 1 or not all(isinstance(f, Interval) for f in factors):
            raise ProblemError(f"Product needs Interval factors, got {factors!r}")
        coords = [f.symbol for f in factors]
        if len(set(coords)) != len(coords):
            raise ProblemError(f"Product repeats a coordinate: {[str(c) for c in coords]}")
        self.factors = factors
        self.coordinates = tuple(coords)

    @staticmethod
    def of(a: Domain, b: Domain) -> Product:
        """``a * b`` for intervals and products of intervals."""
        fa = a.factors if isinstance(a, Product) else [a]
        fb = b.factors if isinstance(b, Product) else [b]
        return Product([*fa, *fb])

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return tuple(f.lower for f in self.factors), tuple(f.upper for f in self.factors)

    def sample_interior(
        self, n: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        lo = torch.tensor(self.bounds[0], dtype=dtype, device=device)
        hi = torch.tensor(self.bounds[1], dtype=dtype, device=device)
        u = torch.rand(n, self.dim, generator=generator, dtype=dtype, device=device)
        return lo + (hi - lo) * u

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        mask = torch.ones(points.shape[0], dtype=torch.bool, device=points.device)
        for j, f in enumerate(self.factors):
            mask &= (points[:, j] >= f.lower - tol) & (points[:, j] <= f.upper + tol)
        return mask

    def pieces(self) -> dict[str, Region]:
        out: dict[str, Region] = {}
        for axis, f in enumerate(self.factors):
            for value, outward in ((f.lower, -1.0), (f.upper, 1.0)):
                face = Face(f.symbol, value, axis=axis, outward=outward, dim=self.dim)
                face.others = [(j, g) for j, g in enumerate(self.factors) if j != axis]
                out[face.name] = face
        return out

    def grid(self, n: int | Sequence[int]) -> torch.Tensor:
        counts = _per_axis(n, self.dim)
        axes = [
            torch.linspace(f.lower, f.upper, k, dtype=torch.float64)
            for f, k in zip(self.factors, counts, strict=True)
        ]
        mesh = torch.meshgrid(*axes, indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=1)

    def __repr__(self) -> str:
        return " * ".join(repr(f) for f in self.factors)


def _per_axis(n: int | Sequence[int], dim: int) -> list[int]:
    counts = [int(n)] * dim if isinstance(n, int) else [int(k) for k in n]
    if len(counts) != dim or any(k < 2 for k in counts):
        raise ProblemError(f"grid needs {dim} counts of at least 2 points, got {n!r}")
    return counts


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")
