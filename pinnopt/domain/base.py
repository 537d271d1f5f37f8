"""Domains and regions: where equations and conditions hold, and how to sample there.

A :class:`Domain` has named coordinates (sympy symbols), an interior to sample, named
boundary pieces, a bounding box (for input scaling) and an evaluation grid. A
:class:`Region` is anything a condition can hold on: the interior, a boundary piece
(``x = -1``, the initial slice ``t = 0``, later a circle or a polygon side) or given
points. Conditions name regions with :func:`Domain.region`, which accepts a region, a
piece name such as ``"x=-1"`` or a sympy ``Eq(x, -1)``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import sympy as sp
import torch

from ..errors import ProblemError


class Region(abc.ABC):
    """A set of points on which an expression must vanish."""

    name: str

    @abc.abstractmethod
    def sample(
        self, n: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """Draw ``n`` points, shape ``(n, dim)``, uniformly at random."""

    def normals(self, points: torch.Tensor) -> torch.Tensor | None:
        """Outward unit normals at ``points`` (``(n, dim)``), or None where undefined."""
        return None

    @property
    def fixed_points(self) -> torch.Tensor | None:
        """Points that are given rather than sampled (None for sampled regions)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Domain(abc.ABC):
    """Base class of every domain."""

    coordinates: tuple[sp.Symbol, ...]

    @property
    def dim(self) -> int:
        """Number of coordinates."""
        return len(self.coordinates)

    @property
    @abc.abstractmethod
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Bounding box ``(lower, upper)``, one value per coordinate."""

    @abc.abstractmethod
    def sample_interior(
        self, n: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """Draw ``n`` interior points uniformly at random, shape ``(n, dim)``."""

    @abc.abstractmethod
    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        """Boolean mask: which points lie in the closed domain (up to ``tol``)."""

    @abc.abstractmethod
    def pieces(self) -> dict[str, Region]:
        """Named boundary pieces, e.g. ``{"x=-1": ..., "x=1": ..., "t=0": ...}``."""

    @abc.abstractmethod
    def grid(self, n: int | Sequence[int]) -> torch.Tensor:
        """A regular evaluation grid with ``n`` points per coordinate (float64, CPU)."""

    def interior(self) -> Region:
        """The interior as a region."""
        return Interior(self)

    def region(self, where: object) -> Region:
        """Resolve a region spec: a Region, a piece name, ``"interior"`` or ``sympy.Eq(x, v)``."""
        if isinstance(where, Region):
            return where
        pieces = self.pieces()
        if isinstance(where, str):
            if where == "interior":
                return self.interior()
            if where in pieces:
                return pieces[where]
            raise ProblemError(
                f"region {where!r} is not a boundary piece of {self}; pieces are {sorted(pieces)}"
            )
        if isinstance(where, sp.Equality):
            return self._face_from_eq(where, pieces)
        raise ProblemError(
            f"cannot use {where!r} ({type(where).__name__}) as a region; expected a Region, a "
            f"piece name {sorted(pieces)}, 'interior', or sympy.Eq(coordinate, value)"
        )

    def _face_from_eq(self, eq: sp.Equality, pieces: dict[str, Region]) -> Region:
        lhs, rhs = eq.lhs, eq.rhs
        if not isinstance(lhs, sp.Symbol) and isinstance(rhs, sp.Symbol):
            lhs, rhs = rhs, lhs
        if not isinstance(lhs, sp.Symbol) or lhs not in self.coordinates or rhs.free_symbols:
            raise ProblemError(
                f"region {eq} must be sympy.Eq(coordinate, number) with a coordinate of "
                f"{[str(c) for c in self.coordinates]}; curved pieces are named regions "
                f"{sorted(pieces)}"
            )
        value = float(rhs)
        for region in pieces.values():
            if getattr(region, "coordinate", None) == lhs and abs(region.value - value) <= 1e-12 * (
                1 + abs(value)
            ):
                return region
        raise ProblemError(
            f"region {eq}: {lhs} = {value:g} is not a side of {self}; pieces are {sorted(pieces)}"
        )

    def __mul__(self, other: Domain) -> Domain:
        from .box import Product

        return Product.of(self, other)


class Interior(Region):
    """The interior of a domain."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.name = "interior"

    def sample(
        self, n: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        return self.domain.sample_interior(n, generator, dtype, device)


class Points(Region):
    """Given points (a condition at chosen points, or observation locations)."""

    def __init__(self, points: object, name: str = "points") -> None:
        pts = torch.as_tensor(points, dtype=torch.float64)
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

    @property
    def fixed_points(self) -> torch.Tensor:
        return self._points

    def sample(
        self, n: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        return self._points.to(dtype=dtype, device=device)
