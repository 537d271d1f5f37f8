"""Reference solutions given as arrays: points and values, loaded from .npz or .csv files.

Validation uses the reference's **own points** by default (a problem whose exact solution
is a :class:`ReferenceSolution` and which sets no ``eval_grid`` is validated exactly
there, with no interpolation error). Anywhere else (plots, user points) the values are
interpolated: linearly (or ``method="cubic"``/``"nearest"``) with
``scipy.interpolate.RegularGridInterpolator`` when the file holds a tensor-product grid,
with ``scipy.interpolate.griddata`` for scattered points (``numpy.interp`` in 1-D).
Outside the points the file covers the value is NaN; metrics refuse NaN references.

File layouts (names are the problem's coordinate and unknown names):

- ``.npz`` grid: one 1-D array per coordinate (``x`` of length nx, ``t`` of length nt) and
  one array per unknown of shape ``(nx, nt)`` (``indexing="ij"``).
- ``.npz`` scattered: ``points`` of shape ``(N, dim)`` and one ``(N,)`` array per unknown, or
  one ``(N,)`` array per coordinate and per unknown.
- ``.csv``: a header row naming the columns (coordinates and unknowns), one point per row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from .tables import read_csv_table, read_npz

METHODS = ("linear", "nearest", "cubic")


class ReferenceSolution:
    """Values of the unknowns at given points; callable at any points (interpolated).

    Args:
        points: ``(N, dim)`` points, or for a grid a list of 1-D axes (one per coordinate).
        values: ``{unknown: (N,) array}``, or for a grid arrays shaped like the axes.
        coordinates: the coordinate names, in column order.
        method: interpolation away from the points: ``linear``, ``nearest`` or ``cubic``
            (``cubic`` needs a grid with at least 4 points per axis).
        source: where the data came from (shown in messages).
    """

    def __init__(
        self,
        points: np.ndarray | Sequence[np.ndarray],
        values: Mapping[str, np.ndarray],
        coordinates: Sequence[str],
        *,
        method: str = "linear",
        source: str = "reference data",
    ) -> None:
        if method not in METHODS:
            raise DataError(f"{source}: interpolation method {method!r}; expected one of {METHODS}")
        self.coordinates = tuple(str(c) for c in coordinates)
        self.method = method
        self.source = source
        dim = len(self.coordinates)
        if not values:
            raise DataError(f"{source}: no values given for any unknown")
        self.axes: tuple[np.ndarray, ...] | None = None
        if isinstance(points, (list, tuple)) and all(np.ndim(a) == 1 for a in points) and len(points) == dim:
            self.axes = tuple(np.asarray(a, dtype=np.float64) for a in points)
            shape = tuple(len(a) for a in self.axes)
            for a, name in zip(self.axes, self.coordinates, strict=True):
                if len(a) < 2 or not np.all(np.diff(a) > 0):
                    raise DataError(
                        f"{source}: grid axis {name} must be strictly increasing with >= 2 values"
                    )
            grids = {}
            for u, v in values.items():
                arr = np.asarray(v, dtype=np.float64)
                if arr.shape != shape:
                    raise DataError(f"{source}: {u} has shape {arr.shape}; the grid axes need {shape}")
                grids[u] = arr
            mesh = np.meshgrid(*self.axes, indexing="ij")
            self.points = np.stack([m.ravel() for m in mesh], axis=1)
            self.values = {u: g.ravel() for u, g in grids.items()}
            self._grids = grids
        else:
            pts = np.asarray(points, dtype=np.float64)
            if pts.ndim == 1 and dim == 1:
                pts = pts[:, None]
            if pts.ndim != 2 or pts.shape[1] != dim or len(pts) == 0:
                raise DataError(f"{source}: points have shape {pts.shape}; expected (N, {dim})")
            self.points = pts
            self.values = {}
            for u, v in values.items():
                arr = np.asarray(v, dtype=np.float64).ravel()
                if arr.shape != (len(pts),):
                    raise DataError(f"{source}: {u} has {arr.size} values for {len(pts)} points")
                self.values[u] = arr
        for u, v in self.values.items():
            if not np.isfinite(v).all():
                raise DataError(f"{source}: values of {u} contain NaN or Inf")
        if not np.isfinite(self.points).all():
            raise DataError(f"{source}: points contain NaN or Inf")
        self.unknowns = tuple(self.values)

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        coordinates: Sequence[str],
        unknowns: Sequence[str],
        *,
        method: str = "linear",
    ) -> ReferenceSolution:
        """Read a ``.npz`` or ``.csv`` file (layouts in the module docstring)."""
        path = Path(path)
        coords = [str(c) for c in coordinates]
        if not path.is_file():
            raise DataError(f"reference file {path} does not exist")
        suffix = path.suffix.lower()
        if suffix == ".npz":
            arrays = read_npz(path, "reference file")
        elif suffix == ".csv":
            arrays = read_csv_table(path, "reference file").columns()
        else:
            raise DataError(f"reference file {path}: expected a .npz or .csv file")
        missing = [u for u in unknowns if u not in arrays]
        if missing:
            raise DataError(
                f"reference file {path} has no values for {missing}; it holds {sorted(arrays)} "
                f"(expected arrays named after the unknowns {list(unknowns)})"
            )
        for name in (*unknowns, *coords, "points"):
            kind = arrays[name].dtype.kind if name in arrays else "f"
            if kind not in "biuf":
                raise DataError(
                    f"reference file {path}: array {name!r} holds {arrays[name].dtype} values; "
                    "expected real numbers"
                )
        values = {u: arrays[u] for u in unknowns}
        if "points" in arrays:
            return cls(arrays["points"], values, coords, method=method, source=str(path))
        absent = [c for c in coords if c not in arrays]
        if absent:
            raise DataError(
                f"reference file {path} has neither 'points' nor arrays for coordinates {absent}; "
                f"it holds {sorted(arrays)}"
            )
        cols = [np.asarray(arrays[c], dtype=np.float64) for c in coords]
        first = np.asarray(values[unknowns[0]])
        if len(coords) > 1 and first.shape == tuple(len(c) for c in cols):
            return cls(cols, values, coords, method=method, source=str(path))
        return cls(
            np.stack([c.ravel() for c in cols], axis=1), values, coords, method=method, source=str(path)
        )

    # -- evaluation -----------------------------------------------------------------------------
    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Values at ``(N, dim)`` points, shape ``(N, n_unknowns)`` in :attr:`unknowns` order."""
        return np.stack([self.at(points)[u] for u in self.unknowns], axis=1)

    def at(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """``{unknown: (N,) values}`` at points, interpolated; NaN outside the data's coverage."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 1 and len(self.coordinates) == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != len(self.coordinates):
            raise DataError(
                f"{self.source}: asked at points of shape {pts.shape}; expected (N, {len(self.coordinates)})"
            )
        if self.axes is not None:
            from scipy.interpolate import RegularGridInterpolator

            out = {}
            for u, g in self._grids.items():
                interp = RegularGridInterpolator(
                    self.axes, g, method=self.method, bounds_error=False, fill_value=np.nan
                )
                out[u] = interp(pts)
            return out
        if pts.shape[1] == 1:
            order = np.argsort(self.points[:, 0])
            xs = self.points[order, 0]
            out = {}
            for u, v in self.values.items():
                if self.method == "nearest":
                    idx = np.clip(np.searchsorted(xs, pts[:, 0]), 1, len(xs) - 1)
                    left = np.abs(pts[:, 0] - xs[idx - 1]) <= np.abs(pts[:, 0] - xs[idx])
                    val = v[order][np.where(left, idx - 1, idx)]
                else:
                    val = np.interp(pts[:, 0], xs, v[order])
                val = np.where((pts[:, 0] < xs[0]) | (pts[:, 0] > xs[-1]), np.nan, val)
                out[u] = val
            return out
        from scipy.interpolate import griddata

        method = "linear" if self.method == "cubic" and pts.shape[1] > 2 else self.method
        return {u: griddata(self.points, v, pts, method=method) for u, v in self.values.items()}

    def __repr__(self) -> str:
        kind = (
            "grid " + "x".join(str(len(a)) for a in self.axes)
            if self.axes is not None
            else f"{len(self.points)} points"
        )
        return f"ReferenceSolution({self.source}, {kind}, unknowns={list(self.unknowns)}, {self.method})"
