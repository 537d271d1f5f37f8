"""Intervals and products of domains: boxes, space-time cylinders (``Disk * Interval(t)``)."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
import torch

from ..errors import ProblemError
from .base import Domain, MappedRegion, PointData, Region, builds, per_axis
from .samplers import Sampler


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
        lo_face = Face(symbol, lo, outward=-1.0, lower=lo, upper=hi)
        hi_face = Face(symbol, hi, outward=1.0, lower=lo, upper=hi)
        self._pieces = {lo_face.name: lo_face, hi_face.name: hi_face}

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (self.lower,), (self.upper,)

    @property
    def unit_dim(self) -> int:
        return 1

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.lower + (self.upper - self.lower) * u, None

    def volume(self) -> float:
        return self.upper - self.lower

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        x = points[:, 0]
        return (x >= self.lower - tol) & (x <= self.upper + tol)

    def pieces(self) -> dict[str, MappedRegion]:
        return dict(self._pieces)

    def grid(self, n: int | Sequence[int]) -> torch.Tensor:
        (k,) = per_axis(n, 1)
        return torch.linspace(self.lower, self.upper, k, dtype=torch.float64)[:, None]

    def __repr__(self) -> str:
        return f"Interval({self.symbol}, {self.lower:g}, {self.upper:g})"


class Face(MappedRegion):
    """The end ``coordinate = value`` of an interval: a point, a side once in a product.

    Attributes:
        coordinate, value: the side is ``coordinate = value``.
        outward: -1 at the lower end, +1 at the upper end.
        lower, upper: the interval's ends.
        axis: the coordinate's column in the interval (0); products shift it.
    """

    def __init__(
        self, coordinate: sp.Symbol, value: float, *, outward: float, lower: float, upper: float
    ) -> None:
        self.coordinate = coordinate
        self.value = float(value)
        self.outward = float(outward)
        self.lower = float(lower)
        self.upper = float(upper)
        self.axis = 0
        self.name = f"{coordinate}={self.value:g}"

    @property
    def unit_dim(self) -> int:
        return 0

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, None]:
        return torch.full((u.shape[0], 1), self.value, dtype=u.dtype, device=u.device), None

    def measure(self) -> float:
        return 1.0

    @property
    def has_normals(self) -> bool:
        return True

    def normals(self, points: torch.Tensor) -> torch.Tensor:
        return torch.full((points.shape[0], 1), self.outward, dtype=points.dtype, device=points.device)


class Product(Domain):
    """The Cartesian product of domains: a box, a space-time cylinder ``Disk * Interval(t)``.

    Built with ``*``: ``Interval(x, -1, 1) * Interval(t, 0, 1)``. The boundary pieces are
    the factors' pieces times the other factors (``"x=-1"``, ``"circle"``, ``"t=0"``).
    """

    def __init__(self, factors: Sequence[Domain]) -> None:
        flat: list[Domain] = []
        for f in factors:
            if isinstance(f, Product):
                flat.extend(f.factors)
            elif isinstance(f, Domain):
                flat.append(f)
            else:
                raise ProblemError(f"Product needs pinnopt domains as factors, got {f!r}")
        if not flat:
            raise ProblemError("Product needs at least one factor")
        coords = [c for f in flat for c in f.coordinates]
        if len(set(coords)) != len(coords):
            raise ProblemError(f"Product repeats a coordinate: {[str(c) for c in coords]}")
        self.factors = flat
        self.coordinates = tuple(coords)
        self._offsets = _offsets([f.dim for f in flat])
        self._pieces: dict[str, MappedRegion] | None = None

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        lo = tuple(v for f in self.factors for v in f.bounds[0])
        hi = tuple(v for f in self.factors for v in f.bounds[1])
        return lo, hi

    @property
    def unit_dim(self) -> int:
        return sum(f.unit_dim for f in self.factors)

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return _assemble([(f.from_unit, f.unit_dim) for f in self.factors], u)

    def volume(self) -> float:
        out = 1.0
        for f in self.factors:
            out *= f.volume()
        return out

    @property
    def acceptance(self) -> float:
        out = 1.0
        for f in self.factors:
            out *= f.acceptance
        return out

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        mask = torch.ones(points.shape[0], dtype=torch.bool, device=points.device)
        for f, off in zip(self.factors, self._offsets, strict=True):
            mask &= f.contains(points[:, off : off + f.dim], tol)
        return mask

    def pieces(self) -> dict[str, MappedRegion]:
        if self._pieces is None:
            out: dict[str, MappedRegion] = {}
            for i, f in enumerate(self.factors):
                for piece in f.pieces().values():
                    pp = ProductPiece(self, i, piece)
                    pp.name = unique_name(pp.name, out)
                    out[pp.name] = pp
            self._pieces = out
        return dict(self._pieces)

    def grid(self, n: int | Sequence[int]) -> torch.Tensor:
        if not all(isinstance(f, Interval) for f in self.factors):
            return super().grid(n)
        counts = per_axis(n, self.dim)
        axes = [
            torch.linspace(f.lower, f.upper, k, dtype=torch.float64)
            for f, k in zip(self.factors, counts, strict=True)  # type: ignore[union-attr]
        ]
        mesh = torch.meshgrid(*axes, indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=1)

    def __repr__(self) -> str:
        return " * ".join(repr(f) for f in self.factors)


@builds("product")
def product(a: Domain, b: Domain) -> Product:
    """``a * b``: the product of two domains; nested products are flattened."""
    return Product([a, b])


class ProductPiece(MappedRegion):
    """A boundary piece of one factor times the other factors (e.g. ``circle x [0, T]``)."""

    def __init__(self, product: Product, index: int, piece: MappedRegion) -> None:
        self.product = product
        self.index = index
        self.piece = piece
        self.name = piece.name
        off = product._offsets[index]
        self._cols = slice(off, off + product.factors[index].dim)
        for attr in ("coordinate", "value", "outward", "lower", "upper"):
            if hasattr(piece, attr):
                setattr(self, attr, getattr(piece, attr))
        if hasattr(piece, "axis"):
            self.axis = off + piece.axis

    @property
    def unit_dim(self) -> int:
        return sum(k for _, k in self._parts())

    def _parts(self) -> list[tuple[object, int]]:
        return [
            (self.piece.from_unit, self.piece.unit_dim) if j == self.index else (f.from_unit, f.unit_dim)
            for j, f in enumerate(self.product.factors)
        ]

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return _assemble(self._parts(), u)  # type: ignore[arg-type]

    def measure(self) -> float:
        out = self.piece.measure()
        for j, f in enumerate(self.product.factors):
            if j != self.index:
                out *= f.volume()
        return out

    @property
    def acceptance(self) -> float:
        out = self.piece.acceptance
        for j, f in enumerate(self.product.factors):
            if j != self.index:
                out *= f.acceptance
        return out

    @property
    def has_normals(self) -> bool:
        return self.piece.has_normals

    def normals(self, points: torch.Tensor) -> torch.Tensor | None:
        inner = self.piece.normals(points[:, self._cols])
        if inner is None:
            return None
        out = torch.zeros_like(points)
        out[:, self._cols] = inner
        return out


def face_of(region: object) -> Face | None:
    """The interval :class:`Face` a region is (directly or as a product side), else None."""
    if isinstance(region, Face):
        return region
    if isinstance(region, ProductPiece) and isinstance(region.piece, Face):
        return region.piece
    return None


def Box(coordinates: Sequence[sp.Symbol], lower: Sequence[float], upper: Sequence[float]) -> Domain:
    """An axis-aligned box ``[lower, upper]`` (an Interval in 1-D, else a product of intervals)."""
    coordinates, lower, upper = list(coordinates), list(lower), list(upper)
    if not (len(coordinates) == len(lower) == len(upper)) or not coordinates:
        raise ProblemError(
            f"Box needs one lower and one upper bound per coordinate, got {coordinates}, {lower}, {upper}"
        )
    intervals = [Interval(c, lo, hi) for c, lo, hi in zip(coordinates, lower, upper, strict=True)]
    return intervals[0] if len(intervals) == 1 else Product(intervals)


def unique_name(name: str, taken: object) -> str:
    """``name``, or ``name#2``, ``name#3``... when already taken."""
    if name not in taken:  # type: ignore[operator]
        return name
    k = 2
    while f"{name}#{k}" in taken:  # type: ignore[operator]
        k += 1
    return f"{name}#{k}"


def _offsets(sizes: Sequence[int]) -> list[int]:
    out, acc = [], 0
    for s in sizes:
        out.append(acc)
        acc += s
    return out


def _assemble(
    parts: Sequence[tuple[object, int]], u: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split unit columns among mappers, map each, concatenate points and AND the masks."""
    cols, mask, start = [], None, 0
    for fn, k in parts:
        pts, m = fn(u[:, start : start + k])  # type: ignore[operator]
        start += k
        cols.append(pts)
        if m is not None:
            mask = m if mask is None else mask & m
    return torch.cat(cols, dim=1), mask


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


class PeriodicPair(Region):
    """Points on one side ``coordinate = lower`` followed by their images on ``coordinate = upper``.

    Drawing ``n`` gives ``2n`` rows: ``[p; q]`` with ``q = p`` except ``q[axis] = upper``.
    """

    def __init__(self, side: MappedRegion, axis: int, upper: float, name: str) -> None:
        self.side = side
        self.axis = axis
        self.upper = float(upper)
        self.name = name

    def draw(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> tuple[torch.Tensor, PointData]:
        p, _ = self.side.draw(n, generator, dtype, device, sampler)
        q = p.clone()
        q[:, self.axis] = self.upper
        return torch.cat([p, q]), {}

    def sample(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> torch.Tensor:
        return self.draw(n, generator, dtype, device, sampler)[0]
