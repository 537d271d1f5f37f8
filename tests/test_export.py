"""Export: predictions to .npz/.csv/.vtu, and a model in every run folder (time-marching too)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.validate.rundir import MODEL, PREDICTIONS, write_run

QUIET = po.Runtime(progress=False)
x, t, y = sp.symbols("x t y")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _heat() -> po.Problem:
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - 0.1 * u.diff(x, 2)],
        conditions=[po.On(sp.Eq(t, 0), u - sp.sin(sp.pi * x)), po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u)],
        exact=sp.exp(-0.1 * sp.pi**2 * t) * sp.sin(sp.pi * x),
        eval_grid=[6, 5],
        name="heat",
    )


SMALL = {
    "model": po.nn.MLP(width=6, depth=1),
    "collocation": po.Collocation(interior=32, boundary=8),
    "phases": [po.optim.Adam(steps=10)],
    "runtime": QUIET,
}


@pytest.fixture(scope="module")
def heat_result() -> po.Result:
    return po.solve(_heat(), **SMALL)


def test_npz_and_csv_round_trip_with_derivatives(heat_result: po.Result, tmp_path: Path) -> None:
    u = sp.Function("u")(x, t)
    pts = np.array([[0.1, 0.2], [0.5, 0.5], [0.9, 0.7]])
    expected = heat_result.predict(pts, [u.diff(x)])
    name = "u_x"  # the readable name predict gives a derivative
    path = heat_result.export(tmp_path / "p.npz", points=pts, derivatives=[u.diff(x)])
    with np.load(path) as data:
        assert sorted(data.files) == sorted(["x", "t", "u", name])
        np.testing.assert_array_equal(data["x"], pts[:, 0])
        np.testing.assert_array_equal(data["u"], expected["u"])
        np.testing.assert_array_equal(data[name], expected[name])
    path = heat_result.export(tmp_path / "sub" / "p.csv", points={"x": pts[:, 0], "t": pts[:, 1]})
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["x", "t", "u"] and len(rows) == 4
    np.testing.assert_allclose(np.array(rows[1:], dtype=float)[:, 2], expected["u"], rtol=1e-15)


def test_default_points_are_the_evaluation_grid(heat_result: po.Result, tmp_path: Path) -> None:
    with np.load(heat_result.export(tmp_path / "g.npz")) as data:
        grid = np.stack([data["x"], data["t"]], axis=1)
        np.testing.assert_array_equal(grid, heat_result.problem.evaluation_points())
        assert len(data["u"]) == 30
    loaded = po.Result.load(heat_result.save(tmp_path / "m.pt"))  # no problem: a grid over the bounds
    with np.load(loaded.export(tmp_path / "l.npz")) as data:
        assert len(data["u"]) == 201 * 201 and data["x"].min() == 0 and data["t"].max() == 1


def test_vtu_round_trips_through_meshio(heat_result: po.Result, tmp_path: Path) -> None:
    meshio = pytest.importorskip("meshio")
    path = heat_result.export(tmp_path / "p.vtu")
    mesh = meshio.read(path)
    grid = heat_result.problem.evaluation_points()
    np.testing.assert_allclose(mesh.points[:, :2], grid)
    np.testing.assert_allclose(mesh.points[:, 2], 0)
    np.testing.assert_allclose(mesh.point_data["u"], heat_result.predict(grid)["u"], rtol=1e-12)
    (cells,) = mesh.cells
    assert cells.type == "quad" and len(cells.data) == 5 * 4  # a 6 x 5 tensor grid
    scattered = np.array([[0.1, 0.2], [0.3, 0.9], [0.7, 0.4]])
    mesh = meshio.read(heat_result.export(tmp_path / "s.vtu", points=scattered))
    assert mesh.cells[0].type == "vertex" and len(mesh.points) == 3


def test_export_errors_name_the_problem(
    heat_result: po.Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(po.ConfigError, match=r"unknown suffix '\.txt'"):
        heat_result.export(tmp_path / "p.txt")
    with pytest.raises(po.DataError, match="expected"):
        heat_result.export(tmp_path / "p.npz", points=np.zeros((3, 3)))
    import builtins

    real = builtins.__import__

    def no_meshio(name: str, *args: object, **kwargs: object) -> object:
        if name == "meshio":
            raise ImportError("No module named 'meshio'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_meshio)
    with pytest.raises(po.ConfigError, match=r"pip install pinnopt\[vtk\]"):
        heat_result.export(tmp_path / "p.vtu")


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard-constraints"])
def test_a_march_run_folder_holds_a_model_that_result_load_predicts_from(hard: bool, tmp_path: Path) -> None:
    problem = _heat()
    marched = po.march(problem, po.Marching(windows=2), hard_constraints=hard, **SMALL)
    files = write_run(marched, tmp_path, validation=marched.validate(), plots=False)
    assert files["model"] == tmp_path / MODEL and files["predictions"] == tmp_path / PREDICTIONS
    loaded = po.Result.load(tmp_path / MODEL, problem)
    grid = problem.evaluation_points()
    np.testing.assert_array_equal(loaded.predict(grid)["u"], marched.predict(grid)["u"])
    assert loaded.validate().rel_l2["u"] == marched.validate().rel_l2["u"]
    with np.load(tmp_path / PREDICTIONS) as data:
        np.testing.assert_array_equal(data["u"], marched.predict(grid)["u"])
    if hard:  # the windows' networks are rebuilt from the problem
        with pytest.raises(po.CheckpointError, match="pass problem="):
            po.Result.load(tmp_path / MODEL)
    else:
        again = po.Result.load(tmp_path / MODEL)
        np.testing.assert_array_equal(again.predict(grid)["u"], marched.predict(grid)["u"])
