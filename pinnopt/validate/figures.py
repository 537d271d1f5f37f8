"""The standard set of plots of a solved problem, chosen by its dimension.

- every run: ``loss.png`` (per-term loss history, log scale);
- 1-D problems: ``solution.png`` (prediction versus the exact or reference solution,
  pointwise error);
- 2-D and higher: ``heatmap.png`` (prediction, exact or reference, pointwise error over two
  coordinates; time horizontal; other coordinates fixed, time at its final value);
- space-time problems in one space dimension: also ``slices.png`` (the solution at
  a quarter, half and three quarters of the time interval);
- inverse problems: ``parameters.png``, the fitted parameters per step
  (``Result.parameter_history``, or a :class:`~pinnopt.validate.trajectory.ParameterRecorder`'s);
- on request (``landscape=True``): ``landscape_1d.png``, ``landscape_2d.png`` and
  ``convexity.png`` around the solution.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..declare.grids import plane_grid, time_axis
from ..errors import ConfigError
from . import plots
from .landscape import result_convexity, result_landscape

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Result


def plot_result(
    result: Result,
    directory: str | os.PathLike[str],
    *,
    history: Mapping[str, np.ndarray] | None = None,
    trajectory: Mapping[str, np.ndarray] | None = None,
    phases: Sequence[str] | None = None,
    landscape: bool = False,
    n: int = 161,
    landscape_points: int = 256,
    landscape_n: tuple[int, int] = (41, 15),
    only: Collection[str] | None = None,
) -> dict[str, Path]:
    """Write the plots of ``result`` into ``directory``; return ``{kind: path}``.

    Args:
        result: a solved (or loaded, with its problem) result.
        directory: where the PNG files go (created if needed).
        history: the loss history arrays (default: ``result.history``).
        phases: the phase names that label the phase switches on the loss plot (default:
            those of ``result.outcome``).
        trajectory: fitted parameters per step (default: ``result.parameter_history``;
            or ``ParameterRecorder.as_arrays()``).
        landscape: also plot loss landscapes and the convexity probe (costs a few hundred
            loss evaluations on at most ``landscape_points`` points per set).
        n: grid points per plotted axis.
        landscape_points: at most this many points per point set for landscape losses.
        landscape_n: steps per direction of the 1-D and of the 2-D landscape slices.
        only: draw only these kinds (``"loss"``, ``"solution"`` for the solution plots of any
            dimension, ``"parameters"``, ``"landscape"`` for the landscapes and the probe).
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise ConfigError(f"plot_result(directory={directory!r}): expected a path (str or os.PathLike)")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    kinds = {"loss", "solution", "parameters", "landscape"}
    wanted = kinds if only is None else set(only)
    if not wanted <= kinds:
        raise ConfigError(f"plot_result(only={sorted(wanted)}): known kinds are {sorted(kinds)}")
    files: dict[str, Path] = {}
    name = result.problem.name if result.problem is not None else str(result.config.get("problem", ""))
    if history is None and result.history is not None and len(result.history):
        history = result.history.as_arrays()
    if trajectory is None:
        trajectory = result.parameter_history
    if "loss" in wanted and history is not None and len(history.get("loss", [])):
        phases = phases if phases is not None else phase_names(result)
        files["loss"] = plots.plot_loss_history(
            history, out / "loss.png", title=f"{name}: loss", phases=phases
        )
    fields = result.problem is not None and bool(result.problem.unknowns) and result.problem.domain.dim > 0
    if "solution" in wanted and fields:
        files.update(_solution_plots(result, out, n))
    if trajectory is None and result.problem is not None and not result.problem.unknowns:
        trajectory = result.parameter_history  # an optimization over parameters: plot their path
    if "parameters" in wanted and trajectory is not None and len(trajectory) > 1 and len(trajectory["step"]):
        exact = (
            {p.name: float(p.exact) for p in result.problem.parameters if p.exact is not None}
            if result.problem
            else {}
        )
        files["parameters"] = plots.plot_parameters(trajectory, out / "parameters.png", exact=exact)
    if landscape and "landscape" in wanted and result.problem is not None:
        one = result_landscape(result, dims=1, n=landscape_n[0], max_points=landscape_points)
        files["landscape_1d"] = plots.plot_landscape(
            one, out / "landscape_1d.png", title=f"{name}: 1-D slice"
        )
        two = result_landscape(result, dims=2, n=landscape_n[1], max_points=landscape_points, seed=1)
        files["landscape_2d"] = plots.plot_landscape(
            two, out / "landscape_2d.png", title=f"{name}: 2-D slice"
        )
        probe = result_convexity(result, n_pairs=6, max_points=landscape_points)
        files["convexity"] = plots.plot_convexity(
            probe, out / "convexity.png", title=f"{name}: convexity probe"
        )
    return files


def phase_names(result: Result) -> list[str] | None:
    """The names of the phases the run went through, in order (None for a loaded result)."""
    if result.outcome is not None and result.outcome.phases:
        return [p.name for p in result.outcome.phases]
    return None


def _reference_word(result: Result) -> str:
    exact = result.problem.exact_solution if result.problem is not None else None
    return "exact" if exact is None else exact.kind


def _exact_at(result: Result, pts: np.ndarray) -> dict[str, np.ndarray] | None:
    exact = result.problem.exact_solution if result.problem is not None else None
    return None if exact is None else exact(pts)


def _solution_plots(result: Result, out: Path, n: int) -> dict[str, Path]:
    problem = result.problem
    assert problem is not None
    domain = problem.domain
    names = [str(c) for c in problem.coordinates]
    files: dict[str, Path] = {}
    if domain.dim == 1:
        (lo,), (hi,) = domain.bounds
        x = np.linspace(lo, hi, max(n, 401))[:, None]
        pred = _unknowns(result, result.predict(x))
        files["solution"] = plots.plot_solution_1d(
            x[:, 0],
            pred,
            _exact_at(result, x),
            out / "solution.png",
            coordinate=names[0],
            title=problem.name,
            reference=_reference_word(result),
        )
        return files
    grid = plane_grid(domain, n)
    inside = grid.points[grid.inside]
    pred = _unknowns(result, result.predict(inside))
    files["heatmap"] = plots.plot_heatmaps(
        grid,
        pred,
        _exact_at(result, inside),
        out / "heatmap.png",
        names=names,
        title=problem.name,
        reference=_reference_word(result),
    )
    ti = time_axis(names)
    if ti is not None and domain.dim == 2:
        files["slices"] = _time_slices(result, names, ti, out, n)
    return files


def _time_slices(result: Result, names: list[str], ti: int, out: Path, n: int) -> Path:
    domain = result.problem.domain
    xi = 1 - ti
    lower, upper = domain.bounds
    times = [lower[ti] + f * (upper[ti] - lower[ti]) for f in (0.25, 0.5, 0.75)]
    x = np.linspace(lower[xi], upper[xi], max(n, 401))
    preds, exacts = [], []
    for t in times:
        pts = np.empty((len(x), 2))
        pts[:, xi] = x
        pts[:, ti] = t
        preds.append(_unknowns(result, result.predict(pts)))
        exacts.append(_exact_at(result, pts))
    return plots.plot_time_slices(
        x,
        times,
        preds,
        None if exacts[0] is None else exacts,
        out / "slices.png",
        coordinate=names[xi],
        time_name=names[ti],
        reference=_reference_word(result),
    )


def _unknowns(result: Result, values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {u: np.asarray(values[u]) for u in result.unknowns}
