"""Evaluation and plotting grids for any domain.

A domain's own :meth:`~pinnopt.domain.Domain.grid` is used when it has one; a domain whose
``grid`` raises ``NotImplementedError`` gets a regular grid over its bounding box, filtered
by :meth:`~pinnopt.domain.Domain.contains`. Plots use :func:`plane_grid`: a full regular
grid over two coordinates with a mask of the points that lie in the domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..domain import Domain
from ..errors import ProblemError

TIME_NAMES = ("t", "time", "tau")
"""Coordinate names treated as time (plotted on the horizontal axis)."""


def bounding_box_grid(domain: Domain, n: int | Sequence[int]) -> np.ndarray:
    """A regular grid over the bounding box, ``n`` points per coordinate, filtered by ``contains``."""
    lower, upper = domain.bounds
    counts = [int(n)] * domain.dim if isinstance(n, (int, np.integer)) else [int(k) for k in n]
    if len(counts) != domain.dim or any(k < 2 for k in counts):
        raise ProblemError(f"grid needs {domain.dim} counts of at least 2 points, got {n!r}")
    axes = [np.linspace(lo, hi, k) for lo, hi, k in zip(lower, upper, counts, strict=True)]
    mesh = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    inside = domain.contains(torch.as_tensor(pts, dtype=torch.float64)).cpu().numpy().astype(bool)
    if not inside.any():
        raise ProblemError(f"no grid point of {counts} per axis lies in {domain}; use a finer grid")
    return pts[inside]


def evaluation_grid(domain: Domain, n: int | Sequence[int]) -> np.ndarray:
    """The domain's regular grid (``(N, dim)`` float64), or the filtered bounding-box grid."""
    try:
        grid = domain.grid(n)
    except NotImplementedError:
        return bounding_box_grid(domain, n)
    return np.asarray(grid.detach().cpu().numpy() if isinstance(grid, torch.Tensor) else grid, np.float64)


def time_axis(names: Sequence[str]) -> int | None:
    """Index of the time coordinate (named ``t``, ``time`` or ``tau``), or None."""
    for i, name in enumerate(names):
        if str(name) in TIME_NAMES:
            return i
    return None


@dataclass(frozen=True)
class PlaneGrid:
    """A regular grid over two coordinates (others fixed), for heatmaps.

    Attributes:
        axes: ``(horizontal, vertical)`` coordinate indices.
        h, v: the 1-D grid values along each of them.
        points: ``(len(v) * len(h), dim)`` points, row-major over ``(v, h)``.
        inside: boolean mask of the points that lie in the domain.
        fixed: values of the other coordinates, by index.
    """

    axes: tuple[int, int]
    h: np.ndarray
    v: np.ndarray
    points: np.ndarray
    inside: np.ndarray
    fixed: dict[int, float]

    @property
    def shape(self) -> tuple[int, int]:
        """``(len(v), len(h))``: the image shape."""
        return len(self.v), len(self.h)

    def image(self, values: np.ndarray) -> np.ndarray:
        """Values on ``points[inside]`` (or on all points) as an image, NaN outside the domain."""
        values = np.asarray(values, dtype=np.float64)
        full = np.full(len(self.points), np.nan)
        if values.size == len(self.points):
            full[:] = values
            full[~self.inside] = np.nan
        else:
            full[self.inside] = values
        return full.reshape(self.shape)


def plane_grid(
    domain: Domain,
    n: int = 161,
    *,
    axes: tuple[int, int] | None = None,
    fixed: Mapping[int, float] | None = None,
    names: Sequence[str] | None = None,
) -> PlaneGrid:
    """A regular ``n x n`` grid over two coordinates of ``domain``, masked by ``contains``.

    Args:
        domain: the domain (dimension >= 2).
        n: points per plotted axis.
        axes: ``(horizontal, vertical)`` coordinate indices; default: time (if any) horizontal,
            the first other coordinate vertical, else coordinates 0 and 1.
        fixed: values of the remaining coordinates (default: the upper bound of time, the
            midpoint of the others).
        names: coordinate names (default: the domain's).
    """
    if domain.dim < 2:
        raise ProblemError(f"a plane grid needs a domain of dimension >= 2, got {domain.dim}")
    names = [str(c) for c in (names or domain.coordinates)]
    lower, upper = domain.bounds
    if axes is None:
        ti = time_axis(names)
        if ti is not None:
            other = next(i for i in range(domain.dim) if i != ti)
            axes = (
                (ti, other)
                if domain.dim == 2
                else (other, next(i for i in range(domain.dim) if i not in (ti, other)))
            )
        else:
            axes = (0, 1)
    hi_, vi_ = axes
    if hi_ == vi_ or not all(0 <= a < domain.dim for a in axes):
        raise ProblemError(f"plane_grid axes {axes} must be two different coordinates of 0..{domain.dim - 1}")
    ti = time_axis(names)
    fix: dict[int, float] = {}
    for i in range(domain.dim):
        if i in axes:
            continue
        if fixed and i in fixed:
            fix[i] = float(fixed[i])
        else:
            fix[i] = float(upper[i]) if i == ti else 0.5 * (lower[i] + upper[i])
    h = np.linspace(lower[hi_], upper[hi_], n)
    v = np.linspace(lower[vi_], upper[vi_], n)
    vv, hh = np.meshgrid(v, h, indexing="ij")
    pts = np.empty((vv.size, domain.dim))
    pts[:, hi_] = hh.ravel()
    pts[:, vi_] = vv.ravel()
    for i, value in fix.items():
        pts[:, i] = value
    inside = domain.contains(torch.as_tensor(pts, dtype=torch.float64), tol=1e-9).cpu().numpy().astype(bool)
    return PlaneGrid((hi_, vi_), h, v, pts, inside, fix)
