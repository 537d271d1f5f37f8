"""Metrics, evaluation grids for any domain, and reference solutions from files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.declare.grids import evaluation_grid, plane_grid
from pinnopt.declare.reference import ReferenceSolution
from pinnopt.metrics import compute_metrics, mape

x, y, t = sp.symbols("x y t")


def test_metrics_values_and_mape_exclusion() -> None:
    ref = np.array([1.0, -2.0, 4.0, 0.0])
    pred = ref + np.array([0.1, 0.2, -0.4, 0.5])
    m = compute_metrics(pred, ref)
    assert m["max_abs"] == pytest.approx(0.5)
    assert m["mse"] == pytest.approx(np.mean([0.01, 0.04, 0.16, 0.25]))
    assert m["rel_l2"] == pytest.approx(np.linalg.norm(pred - ref) / np.linalg.norm(ref))
    # the zero reference point is skipped, the others have 10 % error each
    assert m["mape"] == pytest.approx(0.1)
    assert m["mape_excluded"] == 1


def test_mape_refused_when_reference_is_mostly_zero() -> None:
    ref = np.zeros(10)
    ref[0] = 1.0
    out = mape(ref + 0.1, ref)
    assert out.value is None and out.excluded == 9 and "meaningless" in out.note
    assert mape(np.ones(3), np.zeros(3)).value is None


def test_nan_reference_is_refused_with_a_hint() -> None:
    with pytest.raises(po.ValidationError, match="NaN/Inf at 1 of 3"):
        compute_metrics(np.zeros(3), np.array([1.0, np.nan, 2.0]))


class _Disk(po.domain.Product):
    """A unit disk in (x, y) without its own grid: exercises the bounding-box fallback."""

    def contains(self, points: torch.Tensor, tol: float = 1e-12) -> torch.Tensor:
        return points[:, 0] ** 2 + points[:, 1] ** 2 <= 1 + tol

    def grid(self, n: object) -> torch.Tensor:
        raise NotImplementedError


def test_grid_fallback_filters_the_bounding_box_by_contains() -> None:
    disk = _Disk([po.Interval(x, -1, 1), po.Interval(y, -1, 1)])
    pts = evaluation_grid(disk, 41)
    assert pts.shape[1] == 2 and np.all((pts**2).sum(axis=1) <= 1 + 1e-12)
    assert abs(len(pts) / 41**2 - np.pi / 4) < 0.05  # lattice points in a disk: ~pi/4 of the box
    u = sp.Function("u")(x, y)
    problem = po.Problem(domain=disk, equations=[u - x], exact=x, eval_grid=21)
    assert len(problem.evaluation_points()) < 21**2
    grid = plane_grid(disk, 11)
    assert grid.inside.sum() < grid.inside.size and grid.image(np.ones(grid.inside.sum())).shape == (11, 11)


def test_plane_grid_puts_time_horizontal_and_fixes_other_coordinates() -> None:
    dom = po.Interval(x, 0, 2) * po.Interval(y, 0, 1) * po.Interval(t, 0, 3)
    grid = plane_grid(dom, 5)
    assert grid.axes == (0, 1) and grid.fixed == {2: 3.0}
    assert plane_grid(po.Interval(x, 0, 2) * po.Interval(t, 0, 1), 5).axes == (1, 0)


def _reference_files(tmp_path: Path) -> dict[str, Path]:
    xs = np.linspace(-1, 1, 81)
    ts = np.linspace(0, 1, 41)
    xx, tt = np.meshgrid(xs, ts, indexing="ij")
    u = np.sin(np.pi * xx) * np.exp(-tt)
    files = {"grid": tmp_path / "grid.npz", "scattered": tmp_path / "pts.npz", "csv": tmp_path / "ref.csv"}
    np.savez(files["grid"], x=xs, t=ts, u=u)
    rng = np.random.default_rng(0)
    pts = rng.uniform([-1, 0], [1, 1], size=(3000, 2))
    np.savez(files["scattered"], points=pts, u=np.sin(np.pi * pts[:, 0]) * np.exp(-pts[:, 1]))
    table = np.column_stack([xx.ravel(), tt.ravel(), u.ravel()])
    np.savetxt(files["csv"], table, delimiter=",", header="x,t,u", comments="")
    return files


@pytest.mark.parametrize("kind", ["grid", "scattered", "csv"])
def test_reference_files_interpolate_and_validate_on_their_own_points(tmp_path: Path, kind: str) -> None:
    path = _reference_files(tmp_path)[kind]
    ref = ReferenceSolution.load(path, ["x", "t"], ["u"])
    probe = np.array([[0.3, 0.4], [-0.71, 0.05], [0.0, 0.9]])
    exact = np.sin(np.pi * probe[:, 0]) * np.exp(-probe[:, 1])
    tol = 3e-3 if kind != "scattered" else 2e-2
    np.testing.assert_allclose(ref.at(probe)["u"], exact, atol=tol)
    assert np.isnan(ref.at(np.array([[2.0, 0.5]]))["u"]).all()  # outside the data
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u],
        exact=str(path),
    )
    assert problem.exact_solution.reference is not None
    np.testing.assert_array_equal(problem.evaluation_points(), ref.points)
    report = po.check_problem(problem)
    assert report.passed and all(row.method == "skipped" for row in report.terms)


def test_reference_file_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(po.DataError, match="does not exist"):
        ReferenceSolution.load(tmp_path / "none.npz", ["x"], ["u"])
    np.savez(tmp_path / "bad.npz", x=np.linspace(0, 1, 5), v=np.zeros(5))
    with pytest.raises(po.DataError, match=r"no values for \['u'\]"):
        ReferenceSolution.load(tmp_path / "bad.npz", ["x"], ["u"])
    (tmp_path / "nohead.csv").write_text("0,1\n1,2\n")
    with pytest.raises(po.DataError, match="name the columns"):
        ReferenceSolution.load(tmp_path / "nohead.csv", ["x"], ["u"])


def test_reference_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("x,u\n0.1,0.5\n0.2,0.6\n".encode("utf-8-sig"))
    ref = ReferenceSolution.load(path, ["x"], ["u"])
    np.testing.assert_array_equal(ref.points[:, 0], [0.1, 0.2])
    np.testing.assert_array_equal(ref.values["u"], [0.5, 0.6])
    u = sp.Function("u")(x)
    problem = po.Problem(po.Interval(x, 0, 1), [u.diff(x)], exact=str(path))  # the same reader
    np.testing.assert_array_equal(problem.evaluation_points()[:, 0], [0.1, 0.2])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("latin1.csv", "x,u\n0.1,0.5 \xb0\n".encode("latin-1"), r"latin1\.csv: not UTF-8 text.*UTF-8"),
        ("header.csv", b"x,u\n\n", r"header\.csv: a header line \['x', 'u'\] but no data lines"),
        ("empty.csv", b"", r"empty\.csv: the file is empty"),
        ("ragged.csv", b"x,u\n0.1,0.5\n0.2\n", r"ragged\.csv, line 3: 1 fields, expected 2"),
        ("word.csv", b"x,u\n0.1,abc\n", r"word\.csv, line 2, column 'u': 'abc' is not a number"),
        ("corrupt.npz", b"PK\x03\x04garbage", r"corrupt\.npz: not a readable reference file"),
        ("text.npz", b"x,u\n0.1,0.5\n", r"text\.npz: not a readable reference file"),
    ],
)
def test_unreadable_reference_files_are_data_errors_naming_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(po.DataError, match=message):
        ReferenceSolution.load(path, ["x"], ["u"])
    u = sp.Function("u")(x)
    with pytest.raises(po.DataError, match=message):
        po.Problem(po.Interval(x, 0, 1), [u.diff(x)], exact=str(path))


def test_reference_npz_of_one_array_or_of_text_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(po.DataError, match=r"single\.npz: not a readable reference file.*single array"):
        ReferenceSolution.load(tmp_path / "single.npz", ["x"], ["u"])
    np.savez(tmp_path / "words.npz", x=np.linspace(0, 1, 3), u=np.array(["a", "b", "c"]))
    with pytest.raises(po.DataError, match=r"words\.npz: array 'u' holds <U1 values; expected real"):
        ReferenceSolution.load(tmp_path / "words.npz", ["x"], ["u"])
