"""Curved and polygonal shapes: disks and balls, simple polygons (e.g. an L-shape)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import sympy as sp
import torch

from ..errors import ProblemError
from .base import Domain, MappedRegion

_EPS_UNIT = 1e-12


def _symbols(coordinates: Sequence[sp.Symbol], what: str, dims: int | None = None) -> tuple[sp.Symbol, ...]:
    coords = tuple(coordinates)
    if not all(isinstance(c, sp.Symbol) for c in coords) or len(set(coords)) != len(coords):
        raise ProblemError(f"{what} needs distinct sympy Symbols as coordinates, got {coordinates!r}")
    if dims is not None and len(coords) != dims:
        raise ProblemError(f"{what} needs {dims} coordinates, got {len(coords)}: {coordinates!r}")
    if dims is None and len(coords) < 2:
        raise ProblemError(f"{what} needs at least 2 coordinates (use Interval in 1-D), got {coordinates!r}")
    return coords


def _numbers(values: Sequence[float], what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"{what} must be numbers, got {values!r}") from exc
    if not np.isfinite(arr).all():
        raise ProblemError(f"{what} must be finite, got {values!r}")
    return arr


class Ball(Domain):
    """The closed ball ``|p - center| <= radius`` in two or more dimensions.

    Its boundary piece is named ``name`` (default ``"circle"`` in 2-D, ``"sphere"`` above).
    Interior points use an equal-area polar map in 2-D and Gaussian directions with radius
    ``u ** (1/d)`` above, so quasi-random samplers keep their even spread.
    """

    def __init__(
        self,
        coordinates: Sequence[sp.Symbol],
        center: Sequence[float] | None = None,
        radius: float = 1.0,
        name: str | None = None,
    ) -> None:
        self.coordinates = _symbols(coordinates, "Ball")
        d = len(self.coordinates)
        self.center = _numbers([0.0] * d if center is None else center, "Ball center")
        if self.center.shape != (d,):
            raise ProblemError(f"Ball center {center!r} must have {d} values, one per coordinate")
        self.radius = float(_numbers([radius], "Ball radius")[0])
        if self.radius <= 0:
            raise ProblemError(f"Ball radius must be positive, got {radius!r}")
        piece = Sphere(self, name or ("circle" if d == 2 else "sphere"))
        self._pieces: dict[str, MappedRegion] = {piece.name: piece}

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return tuple(self.center - self.radius), tuple(self.center + self.radius)

    @property
    def unit_dim(self) -> int:
        return 2 if self.dim == 2 else self.dim + 1

    def _center(self, u: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.center, dtype=u.dtype, device=u.device)

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, None]:
        d = self.dim
        if d == 2:
            r = self.radius * torch.sqrt(u[:, 0:1])
            direction = _circle(u[:, 1])
        else:
            direction = _gaussian_direction(u[:, :d])
            r = self.radius * u[:, d : d + 1] ** (1.0 / d)
        return self._center(u) + r * direction, None

    def volume(self) -> float:
        d = self.dim
        return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * self.radius**d

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        c = torch.as_tensor(self.center, dtype=points.dtype, device=points.device)
        return torch.linalg.vector_norm(points - c, dim=1) <= self.radius + tol

    def pieces(self) -> dict[str, MappedRegion]:
        return dict(self._pieces)

    def __repr__(self) -> str:
        return f"Ball({list(map(str, self.coordinates))}, center={self.center.tolist()}, r={self.radius:g})"


def Disk(
    coordinates: Sequence[sp.Symbol],
    center: Sequence[float] = (0.0, 0.0),
    radius: float = 1.0,
    name: str = "circle",
) -> Ball:
    """The closed disk ``|(x, y) - center| <= radius``; its boundary piece is ``name`` ("circle")."""
    return Ball(_symbols(coordinates, "Disk", dims=2), center, radius, name)


class Sphere(MappedRegion):
    """The boundary of a :class:`Ball` (a circle in 2-D); normals point away from the centre."""

    def __init__(self, ball: Ball, name: str) -> None:
        self.ball = ball
        self.name = name

    @property
    def unit_dim(self) -> int:
        return 1 if self.ball.dim == 2 else self.ball.dim

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, None]:
        direction = _circle(u[:, 0]) if self.ball.dim == 2 else _gaussian_direction(u)
        return self.ball._center(u) + self.ball.radius * direction, None

    def measure(self) -> float:
        d = self.ball.dim
        return 2 * math.pi ** (d / 2) / math.gamma(d / 2) * self.ball.radius ** (d - 1)

    @property
    def has_normals(self) -> bool:
        return True

    def normals(self, points: torch.Tensor) -> torch.Tensor:
        v = points - self.ball._center(points)
        return v / torch.linalg.vector_norm(v, dim=1, keepdim=True)


def _circle(u: torch.Tensor) -> torch.Tensor:
    theta = 2 * math.pi * u
    return torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)


def _gaussian_direction(u: torch.Tensor) -> torch.Tensor:
    g = torch.special.ndtri(u.clamp(_EPS_UNIT, 1 - _EPS_UNIT))
    return g / torch.linalg.vector_norm(g, dim=1, keepdim=True).clamp_min(1e-300)


class Polygon(Domain):
    """A simple polygon in 2-D, given by its vertices in order (either orientation).

    Side ``i`` runs from vertex ``i`` to vertex ``i + 1``; sides are named ``"side0"``,
    ``"side1"``... or by ``names``. Sides parallel to an axis also resolve from
    ``sympy.Eq(x, value)``. Interior points are drawn by rejection from the bounding box.

    Example, the L-shape ``[-1, 1]^2`` minus the quarter ``[0, 1]^2``::

        Polygon((x, y), [(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)])
    """

    def __init__(
        self,
        coordinates: Sequence[sp.Symbol],
        vertices: Sequence[Sequence[float]],
        names: Sequence[str] | None = None,
    ) -> None:
        self.coordinates = _symbols(coordinates, "Polygon", dims=2)
        v = _numbers(vertices, "Polygon vertices")
        if v.ndim != 2 or v.shape[1] != 2:
            raise ProblemError(f"Polygon vertices must be (x, y) pairs, got shape {v.shape}")
        if len(v) > 3 and np.array_equal(v[0], v[-1]):
            v = v[:-1]
        if len(v) < 3:
            raise ProblemError(f"Polygon needs at least 3 distinct vertices, got {len(v)}")
        k = len(v)
        names = [f"side{i}" for i in range(k)] if names is None else list(names)
        if len(names) != k or len(set(names)) != k or any(not isinstance(s, str) or not s for s in names):
            raise ProblemError(f"Polygon with {k} sides needs {k} distinct non-empty side names, got {names}")
        if {"interior", "boundary"} & set(names):
            raise ProblemError("Polygon side names 'interior' and 'boundary' are reserved")
        area2 = float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))
        if abs(area2) <= 1e-14 * float(np.ptp(v, axis=0).max()) ** 2:
            raise ProblemError("Polygon has zero area (collinear vertices?)")
        _check_simple(v)
        self.vertices = v
        self.area = abs(area2) / 2
        sign = 1.0 if area2 > 0 else -1.0  # counter-clockwise: outward normal is (dy, -dx)
        self._pieces: dict[str, MappedRegion] = {}
        for i, name in enumerate(names):
            a, b = v[i], v[(i + 1) % k]
            self._pieces[name] = Segment(self.coordinates, a, b, sign, name)
        self._a = torch.as_tensor(v, dtype=torch.float64)
        self._b = torch.as_tensor(np.roll(v, -1, axis=0), dtype=torch.float64)

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return tuple(self.vertices.min(axis=0)), tuple(self.vertices.max(axis=0))

    @property
    def unit_dim(self) -> int:
        return 2

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = (torch.as_tensor(b, dtype=u.dtype, device=u.device) for b in self.bounds)
        pts = lo + (hi - lo) * u
        return pts, self.contains(pts, tol=0.0)

    @property
    def acceptance(self) -> float:
        lo, hi = self.bounds
        return self.area / ((hi[0] - lo[0]) * (hi[1] - lo[1]))

    def volume(self) -> float:
        return self.area

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        a = self._a.to(points)
        b = self._b.to(points)
        px, py = points[:, 0:1], points[:, 1:2]
        ax, ay, bx, by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
        crosses = (ay > py) != (by > py)
        denom = torch.where(by == ay, torch.ones_like(by), by - ay)
        x_at = ax + (py - ay) * (bx - ax) / denom
        inside = ((crosses & (px < x_at)).sum(dim=1) % 2) == 1
        ab = b - a
        t = (((points[:, None, :] - a) * ab).sum(-1) / (ab * ab).sum(-1)).clamp(0.0, 1.0)
        dist = torch.linalg.vector_norm(points[:, None, :] - a - t[..., None] * ab, dim=-1).min(dim=1).values
        if tol >= 0:
            return inside | (dist <= tol)
        return inside & (dist >= -tol)

    def pieces(self) -> dict[str, MappedRegion]:
        return dict(self._pieces)

    def __repr__(self) -> str:
        return f"Polygon({[tuple(p) for p in self.vertices.tolist()]})"


class Segment(MappedRegion):
    """One straight side of a polygon, with a constant outward normal."""

    def __init__(
        self, coordinates: tuple[sp.Symbol, ...], a: np.ndarray, b: np.ndarray, sign: float, name: str
    ) -> None:
        self.name = name
        self.a = np.asarray(a, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)
        d = self.b - self.a
        self.length = float(np.hypot(*d))
        self.normal = sign * np.array([d[1], -d[0]]) / self.length
        for axis in (0, 1):
            if self.a[axis] == self.b[axis]:  # axis-aligned: resolvable from Eq(coordinate, value)
                self.coordinate = coordinates[axis]
                self.value = float(self.a[axis])
                self.outward = float(np.sign(self.normal[axis]))
                self.axis = axis

    @property
    def unit_dim(self) -> int:
        return 1

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, None]:
        a = torch.as_tensor(self.a, dtype=u.dtype, device=u.device)
        b = torch.as_tensor(self.b, dtype=u.dtype, device=u.device)
        return a + u[:, 0:1] * (b - a), None

    def measure(self) -> float:
        return self.length

    @property
    def has_normals(self) -> bool:
        return True

    def normals(self, points: torch.Tensor) -> torch.Tensor:
        n = torch.as_tensor(self.normal, dtype=points.dtype, device=points.device)
        return n.expand(points.shape[0], 2).clone()


def _check_simple(v: np.ndarray) -> None:
    """Raise unless the closed polyline through ``v`` does not cross or fold onto itself."""
    k = len(v)
    edges = [(v[i], v[(i + 1) % k]) for i in range(k)]

    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    def on_segment(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> bool:
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])

    for i in range(k):
        p1, p2 = edges[i]
        if np.array_equal(p1, p2):
            raise ProblemError(f"Polygon vertex {i} repeats vertex {(i + 1) % k}")
        for j in range(i + 1, k):
            q1, q2 = edges[j]
            adjacent = j == i + 1 or (i == 0 and j == k - 1)
            if adjacent:
                shared, other_a, other_b = (p2, p1, q2) if j == i + 1 else (p1, p2, q1)
                da, db = other_a - shared, other_b - shared
                if abs(da[0] * db[1] - da[1] * db[0]) <= 1e-14 and float(da @ db) > 0:
                    raise ProblemError(f"Polygon sides {i} and {j} fold back onto each other")
                continue
            o1, o2 = orient(p1, p2, q1), orient(p1, p2, q2)
            o3, o4 = orient(q1, q2, p1), orient(q1, q2, p2)
            crossing = (o1 * o2 < 0) and (o3 * o4 < 0)
            touching = (
                (o1 == 0 and on_segment(p1, p2, q1))
                or (o2 == 0 and on_segment(p1, p2, q2))
                or (o3 == 0 and on_segment(q1, q2, p1))
                or (o4 == 0 and on_segment(q1, q2, p2))
            )
            if crossing or touching:
                raise ProblemError(f"Polygon sides {i} and {j} intersect; the polygon must be simple")
