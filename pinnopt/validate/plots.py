"""PNG plots of a run: losses, solutions, errors, parameters, feasibility, landscapes.

Every function draws on its own :class:`matplotlib.figure.Figure` rendered by the Agg
backend (no pyplot, no global state, no display needed) and writes one PNG file.
matplotlib is imported by the first plot, not by ``import pinnopt`` (seconds at start-up).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..declare.grids import PlaneGrid
from .landscape import ConvexityReport, LossSlice

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

DPI = 100


def new_figure(**options: Any) -> Figure:
    """A new Agg-rendered figure; the first call imports matplotlib."""
    from matplotlib.figure import Figure

    return Figure(**options)


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _positive(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(values > 0, values, np.nan)


def plot_loss_history(
    history: Any,
    path: str | os.PathLike[str],
    *,
    title: str = "loss",
    phases: Sequence[str] | None = None,
) -> Path:
    """Total weighted loss and every (unweighted) term per step, log scale, phases marked.

    ``history`` is a :class:`~pinnopt.train.History` or its ``as_arrays()`` dict;
    ``phases`` names the phases in order (``"adam"``, ``"lbfgs"``): each switch is drawn as
    a dotted line labelled with the phase that starts there.
    """
    arrays = history.as_arrays() if hasattr(history, "as_arrays") else dict(history)
    steps = np.asarray(arrays.get("step", np.arange(1, len(arrays["loss"]) + 1)))
    fig = new_figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for key in sorted(k for k in arrays if k.startswith("term/")):
        ax.plot(steps, _positive(arrays[key]), lw=1.0, label=key.removeprefix("term/"))
    ax.plot(steps, _positive(arrays["loss"]), color="black", lw=1.8, label="total (weighted)")
    ax.set_yscale("log")
    for where, name in phase_switches(arrays, phases):
        ax.axvline(where, color="grey", ls=":", lw=1)
        ax.annotate(
            f"-> {name}",
            xy=(where, 0.98),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            color="dimgrey",
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path)


def phase_switches(arrays: Mapping[str, Any], phases: Sequence[str] | None = None) -> list[tuple[float, str]]:
    """``(x, label)`` of every phase switch in a history's arrays: ``x`` halfway between the
    last step of one phase and the first of the next, ``label`` the name of the phase that
    starts there (``phases[index]``, else ``"phase <index>"``)."""
    phase = np.asarray(arrays.get("phase", []), dtype=np.int64)
    if phase.size < 2:
        return []
    steps = np.asarray(arrays.get("step", np.arange(1, phase.size + 1)), dtype=np.float64)
    out = []
    for i in np.nonzero(np.diff(phase))[0]:
        index = int(phase[i + 1])
        name = phases[index] if phases is not None and 0 <= index < len(phases) else f"phase {index}"
        out.append((float(steps[i]) + 0.5, name))
    return out


def plot_solution_1d(
    x: np.ndarray,
    pred: Mapping[str, np.ndarray],
    exact: Mapping[str, np.ndarray] | None,
    path: str | os.PathLike[str],
    *,
    coordinate: str = "x",
    title: str = "",
    reference: str = "exact",
) -> Path:
    """Prediction versus the exact (or ``reference="reference"``: a numerical reference)
    solution (top) and pointwise absolute error (bottom), per unknown."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x)
    names = list(pred)
    rows = 2 if exact is not None else 1
    fig = new_figure(figsize=(4.5 * len(names), 3.2 * rows), layout="constrained")
    axes = np.asarray(fig.subplots(rows, len(names), squeeze=False))
    for j, u in enumerate(names):
        ax = axes[0, j]
        if exact is not None:
            ax.plot(x[order], exact[u][order], color="black", lw=2.2, label=reference)
        ax.plot(x[order], pred[u][order], color="tab:red", lw=1.2, ls="--", label="prediction")
        ax.set_xlabel(coordinate)
        ax.set_ylabel(u)
        ax.set_title(f"{title} {u}".strip())
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        if exact is not None:
            err = np.abs(pred[u] - exact[u])
            ax = axes[1, j]
            ax.plot(x[order], _positive(err[order]), color="tab:blue", lw=1)
            ax.set_yscale("log")
            ax.set_xlabel(coordinate)
            ax.set_ylabel(f"|{u} - {reference}|")
            ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)


def plot_heatmaps(
    grid: PlaneGrid,
    pred: Mapping[str, np.ndarray],
    exact: Mapping[str, np.ndarray] | None,
    path: str | os.PathLike[str],
    *,
    names: Sequence[str],
    title: str = "",
    reference: str = "exact",
) -> Path:
    """Heatmaps of prediction, exact (or numerical reference) solution and pointwise absolute
    error, one row per unknown; ``reference`` is the word the panel titles use.

    ``pred``/``exact`` hold values on ``grid.points[grid.inside]`` (or on all grid points).
    """
    unknowns = list(pred)
    cols = 3 if exact is not None else 1
    fig = new_figure(figsize=(4.6 * cols, 3.4 * len(unknowns)), layout="constrained")
    axes = np.asarray(fig.subplots(len(unknowns), cols, squeeze=False))
    extent = (grid.h[0], grid.h[-1], grid.v[0], grid.v[-1])
    hname, vname = names[grid.axes[0]], names[grid.axes[1]]
    fixed = ", ".join(f"{names[i]} = {v:.3g}" for i, v in grid.fixed.items())
    for r, u in enumerate(unknowns):
        p = grid.image(pred[u])
        panels = [("prediction", p, "viridis")]
        if exact is not None:
            e = grid.image(exact[u])
            panels += [(reference, e, "viridis"), ("|error|", np.abs(p - e), "magma")]
        finite = np.concatenate([im[np.isfinite(im)] for _, im, _ in panels[:2]]) if panels else np.array([])
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        for c, (label, image, cmap) in enumerate(panels):
            ax = axes[r, c]
            kw = {"vmin": vmin, "vmax": vmax} if label != "|error|" else {}
            im = ax.imshow(
                image, origin="lower", extent=extent, aspect="auto", cmap=cmap, interpolation="nearest", **kw
            )
            fig.colorbar(im, ax=ax)
            head = f"{u}: {label}"
            if label == "|error|" and np.isfinite(image).any():
                head += f" (max {np.nanmax(image):.2e})"
            ax.set_title(head, fontsize=10)
            ax.set_xlabel(hname)
            ax.set_ylabel(vname)
    suptitle = " ".join(s for s in (title, f"({fixed})" if fixed else "") if s)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


def plot_time_slices(
    x: np.ndarray,
    times: Sequence[float],
    pred: Sequence[Mapping[str, np.ndarray]],
    exact: Sequence[Mapping[str, np.ndarray]] | None,
    path: str | os.PathLike[str],
    *,
    coordinate: str = "x",
    time_name: str = "t",
    reference: str = "exact",
) -> Path:
    """Space-time problems: the solution at a few times, prediction versus the exact (or
    numerical reference) solution."""
    unknowns = list(pred[0])
    fig = new_figure(figsize=(3.8 * len(times), 3.0 * len(unknowns)), layout="constrained")
    axes = np.asarray(fig.subplots(len(unknowns), len(times), squeeze=False))
    for r, u in enumerate(unknowns):
        for c, t in enumerate(times):
            ax = axes[r, c]
            if exact is not None:
                ax.plot(x, exact[c][u], color="black", lw=2.2, label=reference)
            ax.plot(x, pred[c][u], color="tab:red", lw=1.2, ls="--", label="prediction")
            ax.set_title(f"{u}({coordinate}, {time_name} = {t:.3g})", fontsize=10)
            ax.set_xlabel(coordinate)
            ax.grid(True, alpha=0.3)
            if r == 0 and c == 0:
                ax.legend(fontsize=8)
    return _save(fig, path)


def plot_parameters(
    trajectory: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    *,
    exact: Mapping[str, float] | None = None,
) -> Path:
    """Fitted parameters per step (``Result.parameter_history`` or a
    :class:`~pinnopt.validate.trajectory.ParameterRecorder`), with their true values when known."""
    steps = np.asarray(trajectory["step"])
    names = [k for k in trajectory if k != "step"]
    fig = new_figure(figsize=(4.5 * max(1, len(names)), 3.2), layout="constrained")
    axes = np.asarray(fig.subplots(1, max(1, len(names)), squeeze=False))[0]
    for ax, name in zip(axes, names, strict=False):
        ax.plot(steps, trajectory[name], color="tab:blue", lw=1.2, label="fitted")
        if exact and name in exact:
            ax.axhline(exact[name], color="black", ls="--", lw=1, label="exact")
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.set_title(f"parameter {name}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_feasibility(
    points: np.ndarray | PlaneGrid,
    values: np.ndarray,
    path: str | os.PathLike[str],
    *,
    names: Sequence[str] = ("x", "y"),
    title: str = "feasibility",
) -> Path:
    """Where a bound holds: ``values`` is a boolean mask (True = feasible) or a violation
    amount (``> 0`` violates, ``<= 0`` feasible) per point.

    ``points`` is a :class:`~pinnopt.declare.grids.PlaneGrid` (values on all its points or on
    its inside points), or ``(N, 1)``/``(N, 2)`` points (scattered 2-D points are drawn as dots).
    """
    values = np.asarray(values)
    boolean = values.dtype == bool
    violation = np.where(values, 0.0, 1.0) if boolean else np.asarray(values, dtype=np.float64)
    fig = new_figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    n_bad = int(np.sum(violation > 0))
    head = f"{title}: {n_bad} of {violation.size} points infeasible"
    if isinstance(points, PlaneGrid):
        image = points.image(violation)
        extent = (points.h[0], points.h[-1], points.v[0], points.v[-1])
        if boolean:
            im = ax.imshow(
                image > 0, origin="lower", extent=extent, aspect="auto", cmap="RdYlGn_r", vmin=0, vmax=1
            )
        else:
            lim = max(float(np.nanmax(np.abs(image))), 1e-300)
            im = ax.imshow(
                image, origin="lower", extent=extent, aspect="auto", cmap="RdYlGn_r", vmin=-lim, vmax=lim
            )
            if np.nanmin(image) < 0 < np.nanmax(image):
                ax.contour(points.h, points.v, image, levels=[0.0], colors="black", linewidths=1)
        fig.colorbar(im, ax=ax, label="infeasible" if boolean else "violation (> 0 infeasible)")
        ax.set_xlabel(names[points.axes[0]])
        ax.set_ylabel(names[points.axes[1]])
    else:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 1:
            pts = pts[:, None]
        if pts.shape[1] == 1:
            order = np.argsort(pts[:, 0])
            xs, vs = pts[order, 0], violation[order]
            ax.plot(xs, vs, color="black", lw=1.2)
            ax.fill_between(
                xs,
                0,
                1,
                where=vs > 0,
                color="tab:red",
                alpha=0.3,
                transform=ax.get_xaxis_transform(),
                label="infeasible",
            )
            ax.axhline(0.0, color="grey", lw=0.8)
            ax.set_xlabel(names[0])
            ax.set_ylabel("violation")
            ax.legend(fontsize=8)
        else:
            sc = ax.scatter(
                pts[:, 0], pts[:, 1], c=violation > 0 if boolean else violation, cmap="RdYlGn_r", s=8
            )
            fig.colorbar(sc, ax=ax, label="infeasible" if boolean else "violation (> 0 infeasible)")
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
    ax.set_title(head, fontsize=10)
    return _save(fig, path)


def plot_landscape(
    landscape: LossSlice, path: str | os.PathLike[str], *, title: str = "loss landscape"
) -> Path:
    """A 1-D slice (log scale) or a 2-D slice (contours of log10 loss) around the solution."""
    fig = new_figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.subplots()
    if landscape.dims == 1:
        ax.plot(landscape.alphas, _positive(landscape.values), color="tab:blue", lw=1.5)
        ax.axvline(0.0, color="grey", ls=":", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("step along a filter-normalized direction")
        ax.set_ylabel("loss")
        ax.grid(True, which="both", alpha=0.3)
    else:
        z = np.log10(np.maximum(landscape.values, 1e-300))
        cs = ax.contourf(landscape.alphas, landscape.betas, z, levels=30, cmap="viridis")
        ax.contour(landscape.alphas, landscape.betas, z, levels=15, colors="white", linewidths=0.4)
        ax.plot([0.0], [0.0], marker="*", color="red", ms=10)
        fig.colorbar(cs, ax=ax, label="log10 loss")
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
    ax.set_title(f"{title} (loss at the solution {landscape.center:.3e})", fontsize=10)
    return _save(fig, path)


def plot_convexity(
    report: ConvexityReport, path: str | os.PathLike[str], *, title: str = "convexity probe"
) -> Path:
    """Each probed line: ``f`` versus its chord; violations marked in red."""
    fig = new_figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    for k, curve in enumerate(report.curves):
        (line,) = ax.plot(report.alphas, curve, lw=1.2)
        ax.plot([0.0, 1.0], [curve[0], curve[-1]], color=line.get_color(), ls=":", lw=1)
        bad = [v for v in report.violations if v.pair == k]
        if bad:
            ax.plot([v.alpha for v in bad], [v.value for v in bad], "o", color="red", ms=4)
    ax.set_xlabel("a  (point a x + (1 - a) y)")
    ax.set_ylabel("f")
    ax.set_title(f"{title}: {len(report.violations)} violations on {report.n_pairs} lines", fontsize=10)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)
