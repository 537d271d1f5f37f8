"""Regions other than single pieces: interiors, unions of pieces, given points, side markers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
import torch

from ..errors import ProblemError
from .base import Domain, MappedRegion, PointData, Region, builds
from .samplers import Sampler


@dataclass(frozen=True)
class Side:
    """The lower or upper end of a coordinate's range, e.g. the initial slice ``Side(t, "lower")``."""

    coordinate: sp.Symbol
    end: str = "lower"

    def __post_init__(self) -> None:
        if self.end not in ("lower", "upper"):
            raise ProblemError(f"Side({self.coordinate}, {self.end!r}): end must be 'lower' or 'upper'")


@builds("interior")
class Interior(MappedRegion):
    """The interior of a domain."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.name = "interior"

    @property
    def unit_dim(self) -> int:
        return self.domain.unit_dim

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.domain.from_unit(u)

    @property
    def acceptance(self) -> float:
        return self.domain.acceptance

    def measure(self) -> float:
        return self.domain.volume()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interior) and other.domain is self.domain

    def __hash__(self) -> int:
        return hash(("interior", id(self.domain)))


class PieceUnion(Region):
    """Several boundary pieces as one region; ``n`` points shared in proportion to measure."""

    def __init__(self, pieces: Sequence[MappedRegion], name: str) -> None:
        if not pieces:
            raise ProblemError(f"region {name!r} has no pieces")
        self.pieces = list(pieces)
        self.name = name

    @property
    def has_normals(self) -> bool:
        return all(p.has_normals for p in self.pieces)

    def measure(self) -> float:
        """Total measure of the pieces."""
        return sum(p.measure() for p in self.pieces)

    def counts(self, n: int) -> list[int]:
        """Points per piece: proportional to measure (largest remainders), at least one each."""
        weights = [max(p.measure(), 0.0) for p in self.pieces]
        total = sum(weights) or 1.0
        raw = [n * w / total for w in weights]
        counts = [max(1, int(r)) for r in raw]
        order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
        for i in order[: max(0, n - sum(counts))]:
            counts[i] += 1
        return counts

    def draw(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> tuple[torch.Tensor, PointData]:
        xs, datas = [], []
        for piece, k in zip(self.pieces, self.counts(n), strict=True):
            x, data = piece.draw(k, generator, dtype, device, sampler)
            xs.append(x)
            datas.append(data)
        keys = set.intersection(*(set(d) for d in datas))
        return torch.cat(xs), {key: torch.cat([d[key] for d in datas]) for key in keys}

    def sample(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> torch.Tensor:
        return self.draw(n, generator, dtype, device, sampler)[0]


class Points(Region):
    """Given points (a condition at chosen points, or observation locations).

    Args:
        points: ``(n, dim)`` coordinates (``(n,)`` in one dimension).
        name: the region's (and point set's) name.
        data: optional per-point tensors carried into compiled expressions (``Env.data``).
    """

    def __init__(self, points: object, name: str = "points", data: Mapping[str, Any] | None = None) -> None:
        pts = _real_tensor(points, f"points for region {name!r}")
        if pts.dim() == 1:
            pts = pts[:, None]
        if pts.dim() != 2 or pts.shape[0] == 0:
            raise ProblemError(
                f"points for region {name!r} must have shape (n, dim) with n >= 1, got {tuple(pts.shape)}"
            )
        if not torch.isfinite(pts).all():
            bad = int((~torch.isfinite(pts)).any(dim=1).nonzero()[0, 0])
            raise ProblemError(f"points for region {name!r} contain NaN or Inf (row {bad})")
        self._points = pts
        self.name = name
        self.data: dict[str, torch.Tensor] = {}
        for key, value in (data or {}).items():
            t = _real_tensor(value, f"points {name!r}: data {key!r}")
            if t.shape[:1] != pts.shape[:1]:
                raise ProblemError(
                    f"points {name!r}: data {key!r} has shape {tuple(t.shape)}, expected {pts.shape[0]} rows"
                )
            self.data[key] = t

    @property
    def fixed_points(self) -> torch.Tensor:
        return self._points

    def sample(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> torch.Tensor:
        return self._points.to(dtype=dtype, device=device)

    def draw(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> tuple[torch.Tensor, PointData]:
        data = {k: v.to(dtype=dtype, device=device) for k, v in self.data.items()}
        return self.sample(n, generator, dtype, device), data


def _real_tensor(value: object, what: str) -> torch.Tensor:
    """``value`` as a float64 tensor, or a ProblemError naming ``what`` (strings, ragged lists...)."""
    if isinstance(value, (str, bytes)):
        raise ProblemError(f"{what} must be a numeric array, got {value!r}")
    try:
        if isinstance(value, torch.Tensor) and value.is_complex():
            raise TypeError("complex values")
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ProblemError(f"{what} must be a numeric array of real numbers: {exc}") from None


@builds("boundary")
def boundary_of(domain: Domain) -> Region:
    """The whole boundary of ``domain``: every piece, points shared in proportion to measure."""
    return PieceUnion(list(domain.pieces().values()), "boundary")


@builds("region")
def resolve(domain: Domain, where: object) -> Region:
    """Resolve a region spec.

    Accepted: a :class:`Region`; ``"interior"``; ``"boundary"``; a piece name; a sympy
    ``Eq(coordinate, value)`` (a side); ``Side(t, "lower")``; ``Eq(x, 0) | Eq(x, 1)`` or a
    list of pieces (their union, points shared in proportion to measure).
    """
    if isinstance(where, Region):
        return where
    pieces = domain.pieces()
    if isinstance(where, str):
        if where == "interior":
            return domain.interior()
        if where == "boundary":
            return domain.boundary()
        if where in pieces:
            return pieces[where]
        raise ProblemError(
            f"region {where!r} is not a boundary piece of {domain}; pieces are {sorted(pieces)} "
            "(or 'interior', 'boundary')"
        )
    if isinstance(where, sp.Equality):
        return _face_from_eq(domain, where, pieces)
    if isinstance(where, Side):
        lower, upper = domain.bounds
        if where.coordinate not in domain.coordinates:
            raise ProblemError(f"{where}: {where.coordinate} is not a coordinate of {domain}")
        j = domain.coordinates.index(where.coordinate)
        value = lower[j] if where.end == "lower" else upper[j]
        return _face_from_eq(domain, sp.Eq(where.coordinate, value), pieces)
    if isinstance(where, sp.Or) or (isinstance(where, (list, tuple)) and where):
        items = where.args if isinstance(where, sp.Or) else where
        parts: list[MappedRegion] = []
        for item in items:
            r = resolve(domain, item)
            subs = r.pieces if isinstance(r, PieceUnion) else [r]
            for s in subs:
                if not isinstance(s, MappedRegion) or isinstance(s, Interior):
                    raise ProblemError(f"region {where!r}: can only join boundary pieces, not {s!r}")
                if s.name not in {p.name for p in parts}:
                    parts.append(s)
        return parts[0] if len(parts) == 1 else PieceUnion(parts, "+".join(p.name for p in parts))
    raise ProblemError(
        f"cannot use {where!r} ({type(where).__name__}) as a region; expected a Region, a "
        f"piece name {sorted(pieces)}, 'interior', 'boundary', sympy.Eq(coordinate, value), "
        "po.Side(coordinate, 'lower'|'upper') or a list of these"
    )


def _face_from_eq(domain: Domain, eq: sp.Equality, pieces: Mapping[str, MappedRegion]) -> Region:
    lhs, rhs = eq.lhs, eq.rhs
    if not isinstance(lhs, sp.Symbol) and isinstance(rhs, sp.Symbol):
        lhs, rhs = rhs, lhs
    if not isinstance(lhs, sp.Symbol) or lhs not in domain.coordinates or rhs.free_symbols:
        raise ProblemError(
            f"region {eq} must be sympy.Eq(coordinate, number) with a coordinate of "
            f"{[str(c) for c in domain.coordinates]}; curved pieces are named regions "
            f"{sorted(pieces)}"
        )
    value = float(rhs)
    found = [
        r
        for r in pieces.values()
        if getattr(r, "coordinate", None) == lhs
        and abs(getattr(r, "value", math.nan) - value) <= 1e-12 * (1 + abs(value))
    ]
    if not found:
        raise ProblemError(
            f"region {eq}: {lhs} = {value:g} is not a side of {domain}; pieces are {sorted(pieces)}"
        )
    return found[0] if len(found) == 1 else PieceUnion(found, f"{lhs}={value:g}")
