"""Domains and regions: where equations and conditions hold, and how to sample there.

A :class:`Domain` has named coordinates (sympy symbols), an interior to sample, named
boundary pieces, a bounding box (for input scaling), a volume and an evaluation grid. A
:class:`Region` is anything a condition can hold on: the interior, a boundary piece
(``x = -1``, the initial slice ``t = 0``, a circle, a polygon side), several pieces at once
(the whole ``"boundary"``) or given points. Conditions name regions with
:meth:`Domain.region`, which accepts a region, a piece name such as ``"x=-1"``, a sympy
``Eq(x, -1)``, :class:`Side` markers and lists of these.

Sampled regions are :class:`MappedRegion` objects: they map points of a unit cube (drawn by
a :class:`~pinnopt.domain.samplers.Sampler`) into place, optionally with a mask of the
points to keep (shapes drawn by rejection from their bounding box).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sympy as sp
import torch

from ..errors import ProblemError
from .samplers import Sampler, resolve_sampler

PointData = dict[str, torch.Tensor]

_MAX_DRAWS = 200

_Builder = TypeVar("_Builder", bound=Callable[..., Any])

_BUILDERS: dict[str, Callable[..., Any]] = {}
"""What :class:`Domain`'s methods construct, by role: ``"interior"``, ``"boundary"``,
``"region"`` (regions.py), ``"product"`` (box.py), ``"union"``, ``"intersection"``,
``"difference"`` (csg.py). Those modules define subclasses of the classes here, so this
module cannot import them; each registers its constructors with :func:`builds`, and
``import pinnopt.domain`` imports them all. The imports stay one-way (base at the bottom)."""


def builds(role: str) -> Callable[[_Builder], _Builder]:
    """Register the class or function that :class:`Domain` calls for ``role``."""

    def register(fn: _Builder) -> _Builder:
        _BUILDERS[role] = fn
        return fn

    return register


def _build(role: str, *args: Any) -> Any:
    try:
        fn = _BUILDERS[role]
    except KeyError:  # pragma: no cover - pinnopt.domain imports every registering module
        raise RuntimeError(f"no domain constructor for {role!r}: import pinnopt.domain") from None
    return fn(*args)


class Region(abc.ABC):
    """A set of points on which an expression must vanish."""

    name: str

    @abc.abstractmethod
    def sample(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` points, shape ``(n, dim)`` (uniformly at random unless ``sampler`` says)."""

    def normals(self, points: torch.Tensor) -> torch.Tensor | None:
        """Outward unit normals at ``points`` (``(n, dim)``), or None where undefined."""
        return None

    @property
    def has_normals(self) -> bool:
        """Whether points of this region carry outward normals (boundary pieces do)."""
        return False

    def draw(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> tuple[torch.Tensor, PointData]:
        """Points and their per-point data (``"normal"`` on boundary pieces)."""
        x = self.sample(n, generator, dtype, device, sampler)
        data: PointData = {}
        if self.has_normals:
            nrm = self.normals(x)
            if nrm is not None:
                data["normal"] = nrm.to(dtype)
        return x, data

    @property
    def fixed_points(self) -> torch.Tensor | None:
        """Points that are given rather than sampled (None for sampled regions)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class MappedRegion(Region):
    """A region whose points are images of unit-cube points (boundary pieces, interiors)."""

    @property
    @abc.abstractmethod
    def unit_dim(self) -> int:
        """Dimension of the unit cube that parametrizes the region (0 for a single point)."""

    @abc.abstractmethod
    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Map ``(m, unit_dim)`` float64 unit points to ``(m, dim)`` points and a keep-mask (or None)."""

    @abc.abstractmethod
    def measure(self) -> float:
        """Length, area or volume of the region (1 for a point); used to share points out."""

    @property
    def acceptance(self) -> float:
        """Expected fraction of mapped points the mask keeps (1 without a mask)."""
        return 1.0

    def sample(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> torch.Tensor:
        return draw_mapped(self, n, generator, device, sampler).to(dtype)

    def draw(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> tuple[torch.Tensor, PointData]:
        x = draw_mapped(self, n, generator, device, sampler)  # float64: normals from exact points
        data: PointData = {}
        if self.has_normals:
            nrm = self.normals(x)
            if nrm is not None:
                data["normal"] = nrm.to(dtype)
        return x.to(dtype), data


def draw_mapped(
    region: MappedRegion,
    n: int,
    generator: torch.Generator,
    device: torch.device,
    sampler: Sampler | None = None,
) -> torch.Tensor:
    """Draw ``n`` float64 points of ``region`` (about ``n`` for grids), rejecting masked ones."""
    if n < 1:
        raise ProblemError(f"region {region.name!r}: asked for {n} points, expected at least 1")
    sampler = resolve_sampler(sampler)
    k = region.unit_dim
    if k == 0:
        pts, _ = region.from_unit(torch.zeros(1, 0, dtype=torch.float64, device=device))
        return pts.expand(n, -1).clone()
    acc = min(1.0, max(region.acceptance, 1e-6))
    if not sampler.exact_count:
        pts, mask = region.from_unit(sampler.unit(math.ceil(n / acc), k, generator, device))
        pts = pts if mask is None else pts[mask]
        if len(pts) == 0:
            raise ProblemError(f"region {region.name!r}: no grid point of about {n} falls inside")
        return pts
    chunks: list[torch.Tensor] = []
    have = 0
    for _ in range(_MAX_DRAWS):
        # without rejection, draw exactly n: Latin hypercube strata and Sobol balance need it
        m = n - have if acc >= 1.0 else math.ceil((n - have) / acc * 1.25) + 16
        pts, mask = region.from_unit(sampler.unit(m, k, generator, device))
        if mask is not None:
            pts = pts[mask]
        chunks.append(pts)
        have += len(pts)
        if have >= n:
            return torch.cat(chunks)[:n]
    raise ProblemError(
        f"region {region.name!r}: only {have} of {n} points fell inside after {_MAX_DRAWS} draws; "
        "is the region empty?"
    )


class Domain(abc.ABC):
    """Base class of every domain.

    Subclasses give the bounding box, a unit-cube parametrization of the interior
    (:meth:`from_unit`, optionally masked), the volume, membership and boundary pieces.
    Domains combine with ``*`` (products, e.g. with a time interval), ``|`` (union),
    ``&`` (intersection) and ``-`` (difference).
    """

    coordinates: tuple[sp.Symbol, ...]

    @property
    def dim(self) -> int:
        """Number of coordinates."""
        return len(self.coordinates)

    @property
    @abc.abstractmethod
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Bounding box ``(lower, upper)``, one value per coordinate."""

    @property
    @abc.abstractmethod
    def unit_dim(self) -> int:
        """Dimension of the unit cube that parametrizes the interior."""

    @abc.abstractmethod
    def from_unit(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Map float64 unit points to interior points and a keep-mask (None: keep all)."""

    @abc.abstractmethod
    def volume(self) -> float:
        """Length, area or volume of the domain."""

    @property
    def acceptance(self) -> float:
        """Expected fraction of :meth:`from_unit` points its mask keeps."""
        return 1.0

    @abc.abstractmethod
    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        """Boolean mask: which points lie in the closed domain, up to ``tol``.

        A negative ``tol`` asks for points at least ``-tol`` inside.
        """

    @abc.abstractmethod
    def pieces(self) -> dict[str, MappedRegion]:
        """Named boundary pieces, e.g. ``{"x=-1": ..., "x=1": ..., "t=0": ...}``."""

    def grid(self, n: int | Sequence[int]) -> torch.Tensor:
        """A regular evaluation grid, ``n`` points per coordinate (float64, CPU).

        The default is the bounding-box grid filtered by :meth:`contains`.
        """
        counts = per_axis(n, self.dim)
        lower, upper = self.bounds
        axes = [
            torch.linspace(lo, hi, k, dtype=torch.float64)
            for lo, hi, k in zip(lower, upper, counts, strict=True)
        ]
        mesh = torch.meshgrid(*axes, indexing="ij")
        pts = torch.stack([m.reshape(-1) for m in mesh], dim=1)
        inside = self.contains(pts)
        if not bool(inside.any()):
            raise ProblemError(f"no point of a {counts} grid lies in {self}; use a finer grid")
        return pts[inside]

    def sample_interior(
        self,
        n: int,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        sampler: Sampler | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` interior points (uniformly at random unless ``sampler`` says)."""
        return self.interior().sample(n, generator, dtype, device, sampler)

    def interior(self) -> MappedRegion:
        """The interior as a region."""
        return _build("interior", self)

    def boundary(self) -> Region:
        """The whole boundary: every piece, points shared in proportion to measure."""
        return _build("boundary", self)

    # -- region specs ---------------------------------------------------------------------------
    def region(self, where: object) -> Region:
        """Resolve a region spec.

        Accepted: a :class:`Region`; ``"interior"``; ``"boundary"``; a piece name; a sympy
        ``Eq(coordinate, value)`` (a side); ``Side(t, "lower")``; ``Eq(x, 0) | Eq(x, 1)`` or a
        list of pieces (their union, points shared in proportion to measure).
        """
        return _build("region", self, where)

    # -- combinations ---------------------------------------------------------------------------
    def __mul__(self, other: Domain) -> Domain:
        return _build("product", self, other)

    def __or__(self, other: Domain) -> Domain:
        return _build("union", self, other)

    def __and__(self, other: Domain) -> Domain:
        return _build("intersection", self, other)

    def __sub__(self, other: Domain) -> Domain:
        return _build("difference", self, other)


def per_axis(n: int | Sequence[int], dim: int) -> list[int]:
    """Grid counts per coordinate from one count or a sequence; at least 2 each."""
    counts = [int(n)] * dim if isinstance(n, int) else [int(k) for k in n]
    if len(counts) != dim or any(k < 2 for k in counts):
        raise ProblemError(f"grid needs {dim} counts of at least 2 points, got {n!r}")
    return counts
