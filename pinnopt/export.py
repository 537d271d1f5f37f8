"""Predictions written to files: ``result.export(path, points=None, derivatives=())``.

The format follows the suffix: ``.npz`` (one array per coordinate, unknown and requested
derivative), ``.csv`` (one column each, a header row), ``.vtu`` (an unstructured VTK grid
for ParaView: quadrilaterals or hexahedra when the points form a tensor grid, else vertex
cells; needs meshio, ``pip install pinnopt[vtk]``). Without points the predictions are made
on the problem's evaluation grid (the validation grid), or, for a result loaded without its
problem, on a regular grid over the saved bounds.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .declare.problem import Problem
from .errors import ConfigError
from .prediction import as_points

SUFFIXES = (".npz", ".csv", ".vtu")
GRID_POINTS = {1: 1001, 2: 201, 3: 41}
"""Points per axis of the grid over the saved bounds (a result loaded without its problem)."""


class Predicts(Protocol):
    """What export needs of a result (``Result``, ``MarchResult``)."""

    problem: Problem | None
    coordinates: tuple[str, ...]
    config: dict[str, Any]

    def predict(self, points: Any, derivatives: Sequence[Any] = ()) -> dict[str, np.ndarray]: ...


def default_points(result: Predicts) -> np.ndarray:
    """The problem's evaluation grid, else a regular grid over the saved bounds."""
    if result.problem is not None:
        return result.problem.evaluation_points()
    bounds = result.config.get("bounds")
    dim = len(result.coordinates)
    if not bounds or len(bounds) != 2 or len(bounds[0]) != dim:
        raise ConfigError("export: this result has neither its problem nor saved bounds; pass points=")
    axes = [np.linspace(lo, hi, GRID_POINTS.get(dim, 11)) for lo, hi in zip(*bounds, strict=True)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def export_predictions(
    result: Predicts,
    path: str | os.PathLike[str],
    points: Any = None,
    derivatives: Sequence[Any] = (),
) -> Path:
    """Write the predictions of ``result`` (and ``derivatives``) at ``points`` to ``path``.

    Args:
        result: a trained or loaded result.
        path: ``.npz``, ``.csv`` or ``.vtu`` (by suffix); its folder is created.
        points: ``(N, dim)`` array or ``{coordinate: values}``; default: the evaluation grid.
        derivatives: sympy expressions in the unknowns (``u.diff(x)``), named as predict names them (``u_x``).
    Returns:
        The path written.
    Raises:
        ConfigError: an unknown suffix, or ``.vtu`` without meshio (naming the extra).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"export(path={path!r}): expected a path (str or os.PathLike)")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(
            f"export({str(path)!r}): unknown suffix {path.suffix!r}; use one of {list(SUFFIXES)}"
        )
    if suffix == ".vtu":
        meshio = _meshio()
        if len(result.coordinates) > 3:
            raise ConfigError(f"export: a .vtu file holds 1-D to 3-D points, not {len(result.coordinates)}-D")
    pts = (
        default_points(result)
        if points is None
        else as_points(points, result.coordinates, caller="export").numpy()
    )
    values = result.predict(pts, derivatives)
    columns = {c: pts[:, i] for i, c in enumerate(result.coordinates)}
    columns.update({k: v for k, v in values.items() if k not in columns})
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        np.savez_compressed(path, **columns)
    elif suffix == ".csv":
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(list(columns))
            writer.writerows(np.stack(list(columns.values()), axis=1).tolist())
    else:
        data = {k: v for k, v in values.items()}
        cells = _cells(pts)
        xyz = np.zeros((len(pts), 3))
        xyz[:, : pts.shape[1]] = pts
        meshio.Mesh(xyz, [cells], point_data=data).write(path, file_format="vtu")
    return path


def _meshio() -> Any:
    try:
        import meshio
    except ImportError:
        raise ConfigError(
            "export to .vtu needs the meshio package: pip install pinnopt[vtk] (or export .npz/.csv)"
        ) from None
    return meshio


def _cells(pts: np.ndarray) -> tuple[str, np.ndarray]:
    """Lines, quadrilaterals or hexahedra when ``pts`` form a full tensor grid, else vertices."""
    n, dim = pts.shape
    axes = [np.unique(pts[:, i]) for i in range(dim)]
    shape = tuple(len(a) for a in axes)
    if int(np.prod(shape)) != n or min(shape) < 2:
        return "vertex", np.arange(n)[:, None]
    index = np.full(shape, -1, dtype=np.int64)
    where = tuple(np.searchsorted(a, pts[:, i]) for i, a in enumerate(axes))
    index[where] = np.arange(n)
    if (index < 0).any():  # repeated points: not a grid
        return "vertex", np.arange(n)[:, None]
    if dim == 1:
        return "line", np.stack([index[:-1], index[1:]], axis=1)
    if dim == 2:
        a, b = index[:-1, :-1], index[1:, :-1]
        c, d = index[1:, 1:], index[:-1, 1:]
        return "quad", np.stack([a, b, c, d], axis=-1).reshape(-1, 4)
    corners = [
        index[:-1, :-1, :-1], index[1:, :-1, :-1], index[1:, 1:, :-1], index[:-1, 1:, :-1],
        index[:-1, :-1, 1:], index[1:, :-1, 1:], index[1:, 1:, 1:], index[:-1, 1:, 1:],
    ]  # fmt: skip
    return "hexahedron", np.stack(corners, axis=-1).reshape(-1, 8)
