"""Plots for 1-D, 2-D and space-time problems; landscapes; the convexity probe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from matplotlib.image import imread

import pinnopt as po
from pinnopt.declare.grids import plane_grid
from pinnopt.validate import convexity_probe, plot_feasibility
from pinnopt.validate.landscape import flat_parameters, random_pairs, result_convexity, result_landscape

from .exact_problems import burgers_manufactured, heat_with_parameter, mixed_partials, poisson1d

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def assert_valid_png(path: Path, min_variance: float = 1e-3) -> None:
    """A PNG file whose pixels are not all alike (a blank figure has variance ~0)."""
    assert path.is_file(), path
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    pixels = imread(path)[..., :3]
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert float(pixels.var()) > min_variance, f"{path} looks blank (variance {pixels.var():.2e})"


def _quick(problem: po.Problem, **kw: object) -> po.Result:
    return po.solve(
        problem,
        model=po.nn.MLP(width=8, depth=2),
        phases=[po.optim.Adam(steps=15, lr=1e-2)],
        collocation=po.Collocation(interior=64, boundary=16),
        log_every=5,
        **kw,
    )


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (poisson1d, {"loss", "solution"}),
        (mixed_partials, {"loss", "heatmap"}),
        (burgers_manufactured, {"loss", "heatmap", "slices"}),
    ],
    ids=["1d", "2d", "space-time"],
)
def test_standard_plots_exist_are_png_and_not_blank(tmp_path: Path, make, expected) -> None:  # type: ignore[no-untyped-def]
    files = po.validate.plot_result(_quick(make()), tmp_path, n=41)
    assert set(files) == expected
    for path in files.values():
        assert_valid_png(path)


def test_parameter_trajectories_landscape_and_convexity_of_a_result(tmp_path: Path) -> None:
    recorder = po.callbacks.ParameterRecorder()
    result = _quick(heat_with_parameter(), callbacks=[recorder])
    traj = recorder.as_arrays()
    assert list(traj["step"]) == list(range(1, result.steps + 1))
    assert traj["k"][0] != traj["k"][-1] and traj["k"][-1] == pytest.approx(result.parameters["k"])
    theta = flat_parameters(result.model)
    files = po.validate.plot_result(
        result,
        tmp_path,
        trajectory=traj,
        landscape=True,
        landscape_points=32,
        landscape_n=(11, 5),
        only={"parameters", "landscape"},
    )
    assert set(files) == {"parameters", "landscape_1d", "landscape_2d", "convexity"}
    for key in ("parameters", "landscape_1d", "landscape_2d", "convexity"):
        assert_valid_png(files[key])
    np.testing.assert_array_equal(flat_parameters(result.model), theta)  # restored afterwards
    one = result_landscape(result, dims=1, n=5, max_points=32)
    assert one.values.shape == (5,) and one.values[2] == pytest.approx(one.center)
    probe = result_convexity(result, n_pairs=2, n_alpha=5, max_points=32)
    assert probe.n_pairs == 2 and len(probe.curves) == 2


def test_convexity_probe_on_convex_and_nonconvex_functions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    q = a @ a.T + 0.1 * np.eye(6)
    quadratic = lambda v: float(v @ q @ v - v.sum())  # noqa: E731
    report = convexity_probe(quadratic, random_pairs(np.zeros(6), 20, 3.0, through_center=False))
    assert report.convex and report.worst is None and "no violation" in str(report)
    wavy = lambda v: float(np.sum(np.cos(3 * v)) + 0.05 * v @ v)  # noqa: E731
    report = convexity_probe(wavy, random_pairs(np.zeros(6), 20, 1.0), n_alpha=11)
    assert not report.convex
    worst = report.worst
    assert worst is not None and worst.gap > 0.1 and worst.value > worst.chord
    assert report.to_dict()["violations"] == len(report.violations) > 0
    from pinnopt.validate.plots import plot_convexity

    assert_valid_png(plot_convexity(report, tmp_path / "probe.png"))


def test_feasibility_maps_from_masks_and_violations(tmp_path: Path) -> None:
    dom = po.Interval(sp.Symbol("x"), -1, 1) * po.Interval(sp.Symbol("y"), -1, 1)
    grid = plane_grid(dom, 41)
    violation = grid.points[:, 0] ** 2 + grid.points[:, 1] ** 2 - 0.5
    assert_valid_png(plot_feasibility(grid, violation, tmp_path / "viol.png", names=("x", "y")))
    assert_valid_png(plot_feasibility(grid, violation <= 0, tmp_path / "mask.png", names=("x", "y")))
    xs = np.linspace(0, 1, 200)
    assert_valid_png(plot_feasibility(xs, np.sin(6 * xs), tmp_path / "line.png", names=("x",)))
    scattered = np.random.default_rng(0).uniform(-1, 1, (300, 2))
    assert_valid_png(plot_feasibility(scattered, scattered[:, 0] > 0, tmp_path / "dots.png"))
