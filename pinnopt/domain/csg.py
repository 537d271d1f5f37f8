"""Constructive geometry: union ``a | b``, intersection ``a & b`` and difference ``a - b``.

Interiors are drawn by rejection from the bounding box. The boundary pieces are the
operands' pieces restricted to the part that bounds the result, found by stepping a small
distance along the piece's outward normal: a piece of ``a`` bounds ``a | b`` where the step
outwards leaves ``b``; a piece of ``b`` bounds ``a - b`` (normal reversed) where both sides
of it lie in ``a``. Shared edges are kept once. Areas and piece lengths that have no closed
form are estimated once by Monte Carlo with a fixed seed (they only share points out).
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import torch

from ..errors import ProblemError
from .base import Domain, MappedRegion, builds, draw_mapped
from .box import unique_name
from .samplers import Uniform

_MC_POINTS = 20000
_STEP = 1e-7  # normal step, relative to the bounding-box size

Keep = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _Boolean(Domain):
    """Common part of the three set operations."""

    symbol = "?"

    def __init__(self, a: Domain, b: Domain) -> None:
        for d in (a, b):
            if not isinstance(d, Domain):
                raise ProblemError(f"{type(self).__name__} needs pinnopt domains, got {d!r}")
        if a.coordinates != b.coordinates:
            raise ProblemError(
                f"{type(self).__name__}: both domains need the same coordinates in the same order, got "
                f"{[str(c) for c in a.coordinates]} and {[str(c) for c in b.coordinates]}"
            )
        self.a, self.b = a, b
        self.coordinates = a.coordinates
        lo, hi = self.bounds
        if any(h <= lo_ for lo_, h in zip(lo, hi, strict=True)):
            raise ProblemError(f"{self!r} is empty (its bounding box has no volume)")
        self._eps = _STEP * max(h - lo_ for lo_, h in zip(lo, hi, strict=True))
        self._pieces: dict[str, MappedRegion] | None = None
        self._acceptance: float | None = None

    @property
    def unit_dim(self) -> int:
        return self.dim

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = (torch.as_tensor(b, dtype=u.dtype, device=u.device) for b in self.bounds)
        pts = lo + (hi - lo) * u
        return pts, self.contains(pts, tol=0.0)

    @property
    def acceptance(self) -> float:
        if self._acceptance is None:
            gen = torch.Generator().manual_seed(0)
            _, mask = self.from_unit(torch.rand(_MC_POINTS, self.dim, generator=gen, dtype=torch.float64))
            self._acceptance = float(mask.double().mean())
            if self._acceptance == 0.0:
                raise ProblemError(f"{self!r} appears to be empty: no sample point fell inside")
        return self._acceptance

    def volume(self) -> float:
        lo, hi = self.bounds
        box = 1.0
        for lo_, h in zip(lo, hi, strict=True):
            box *= h - lo_
        return self.acceptance * box

    def pieces(self) -> dict[str, MappedRegion]:
        if self._pieces is None:
            out: dict[str, MappedRegion] = {}
            for source, keep, flip in self._piece_rules():
                for piece in source.pieces().values():
                    restricted = RestrictedPiece(piece, keep, flip, piece.name)
                    if restricted.fraction > 0:
                        restricted.name = unique_name(piece.name, out)
                        out[restricted.name] = restricted
            self._pieces = out
        return dict(self._pieces)

    @abc.abstractmethod
    def _piece_rules(self) -> list[tuple[Domain, Keep, bool]]:
        """``(operand, keep(points, normals), flip_normals)`` for the operands' pieces."""

    def _inside(self, d: Domain, p: torch.Tensor, n: torch.Tensor, step: float) -> torch.Tensor:
        return d.contains(p + step * self._eps * n, tol=0.0)

    def __repr__(self) -> str:
        return f"({self.a!r} {self.symbol} {self.b!r})"


@builds("union")
class Union(_Boolean):
    """Points in ``a`` or in ``b`` (``a | b``)."""

    symbol = "|"

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        (la, ua), (lb, ub) = self.a.bounds, self.b.bounds
        return tuple(map(min, la, lb)), tuple(map(max, ua, ub))

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        return self.a.contains(points, tol) | self.b.contains(points, tol)

    def _piece_rules(self) -> list[tuple[Domain, Keep, bool]]:
        a, b, ins = self.a, self.b, self._inside
        return [
            (a, lambda p, n: ~ins(b, p, n, 1.0), False),
            (b, lambda p, n: ~ins(a, p, n, 1.0) & ~ins(a, p, n, -1.0), False),
        ]


@builds("intersection")
class Intersection(_Boolean):
    """Points in both ``a`` and ``b`` (``a & b``)."""

    symbol = "&"

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        (la, ua), (lb, ub) = self.a.bounds, self.b.bounds
        return tuple(map(max, la, lb)), tuple(map(min, ua, ub))

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        return self.a.contains(points, tol) & self.b.contains(points, tol)

    def _piece_rules(self) -> list[tuple[Domain, Keep, bool]]:
        a, b, ins = self.a, self.b, self._inside
        return [
            (a, lambda p, n: ins(b, p, n, -1.0), False),
            (b, lambda p, n: ins(a, p, n, -1.0) & ins(a, p, n, 1.0), False),
        ]


@builds("difference")
class Difference(_Boolean):
    """Points in ``a`` but not inside ``b`` (``a - b``); ``b``'s pieces become holes."""

    symbol = "-"

    @property
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.a.bounds

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        return self.a.contains(points, tol) & ~self.b.contains(points, -tol)

    def _piece_rules(self) -> list[tuple[Domain, Keep, bool]]:
        a, b, ins = self.a, self.b, self._inside
        return [
            (a, lambda p, n: ~ins(b, p, n, -1.0), False),
            (b, lambda p, n: ins(a, p, n, 1.0) & ins(a, p, n, -1.0), True),
        ]


class RestrictedPiece(MappedRegion):
    """The part of a boundary piece where ``keep(points, normals)`` holds (normals optionally reversed)."""

    def __init__(self, base: MappedRegion, keep: Keep, flip: bool, name: str) -> None:
        if not base.has_normals:
            raise ProblemError(f"piece {base.name!r} has no normals; it cannot be combined")
        self.base = base
        self.keep = keep
        self.flip = flip
        self.name = name
        for attr in ("coordinate", "value", "axis"):
            if hasattr(base, attr):
                setattr(self, attr, getattr(base, attr))
        if hasattr(base, "outward"):
            self.outward = -base.outward if flip else base.outward
        gen = torch.Generator().manual_seed(0)
        pts = draw_mapped(base, 4096, gen, torch.device("cpu"), Uniform())
        self.fraction = float(keep(pts, base.normals(pts)).double().mean())

    @property
    def unit_dim(self) -> int:
        return self.base.unit_dim

    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pts, mask = self.base.from_unit(u)
        kept = self.keep(pts, self.base.normals(pts))
        return pts, kept if mask is None else mask & kept

    def measure(self) -> float:
        return self.base.measure() * self.fraction

    @property
    def acceptance(self) -> float:
        return self.base.acceptance * self.fraction

    @property
    def has_normals(self) -> bool:
        return True

    def normals(self, points: torch.Tensor) -> torch.Tensor:
        n = self.base.normals(points)
        return -n if self.flip else n
