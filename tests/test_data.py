"""Observation data: arrays, CSV files, expressions of unknowns, weights, and bad data refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_objective, sample_points
from pinnopt.losses import DataTerm
from pinnopt.validate.exact_model import ExactModel

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)
v = sp.Function("v")(x, t)
EXACT_U = sp.sin(x) * sp.exp(-t)
EXACT_V = x * t


def system(data: list[po.Observations]) -> po.Problem:
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 2),
        equations=[u.diff(t) + u, v.diff(x) - t],
        data=data,
        exact={u: EXACT_U, v: EXACT_V},
        unknowns=[u, v],
    )


def grid_points(n: int = 6) -> np.ndarray:
    xs, ts = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 2, n), indexing="ij")
    return np.stack([xs.ravel(), ts.ravel()], axis=1)


def values_at(pts: np.ndarray) -> dict[str, np.ndarray]:
    xs, ts = pts[:, 0], pts[:, 1]
    return {"u": np.sin(xs) * np.exp(-ts), "v": xs * ts, "u_x": np.cos(xs) * np.exp(-ts)}


def data_losses(problem: po.Problem) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    points = sample_points(problem, po.Collocation(16, 4), g, torch.float64, torch.device("cpu"))
    objective = build_objective(problem)
    _, losses = objective(ExactModel(problem), points)
    return dict(zip(objective.names, losses.tolist(), strict=True))


def test_observations_of_unknowns_derivatives_and_sums() -> None:
    pts = grid_points()
    vals = values_at(pts)
    obs = po.Observations(
        pts,
        {u: vals["u"], "v": torch.as_tensor(vals["v"]), u.diff(x): vals["u_x"], u + v: vals["u"] + vals["v"]},
        weights=np.linspace(1, 2, len(pts)),
    )
    problem = system([obs])
    names = [s.name for s in problem.terms if s.kind == "data"]
    assert names == ["data:u", "data:v", "data:u_x", "data:u(x,t)+v(x,t)"]
    objective = build_objective(problem)
    assert all(isinstance(term, DataTerm) for term in objective.terms if term.name.startswith("data:"))
    losses = data_losses(problem)
    assert all(losses[n] < 1e-28 for n in names), losses
    wrong = po.Observations(pts, {u: vals["u"] + 0.1})  # the misfit is measured
    assert data_losses(system([wrong]))["data:u"] == pytest.approx(0.01)


def test_csv_columns_are_coordinates_and_observed_names(tmp_path: Path) -> None:
    pts = grid_points(4)
    vals = values_at(pts)
    path = tmp_path / "measured.csv"
    rows = ["t,x,u,slope,w"]
    for p, a, b in zip(pts, vals["u"], vals["u_x"], strict=True):
        rows.append(f"{float(p[1])!r},{float(p[0])!r},{float(a)!r},{float(b)!r},2.0")
    path.write_text("\n".join(rows) + "\n")
    obs = po.Observations.from_csv(path, observed={"slope": u.diff(x)}, weights="w")
    problem = system([obs])
    assert [s.name for s in problem.terms if s.kind == "data"] == ["measured:u", "measured:slope"]
    spec = next(s for s in problem.terms if s.name == "measured:u")
    np.testing.assert_array_equal(spec.region.fixed_points.numpy(), pts)
    assert spec.point_weights == "observed_weight"
    losses = data_losses(problem)
    assert losses["measured:u"] < 1e-28 and losses["measured:slope"] < 1e-28


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "obs.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,t,u\n0.1,0.2,0.3\n\n0.2,0.3,nan\n", r"column 'u' has NaN at line 4 of .*obs.csv"),
        ("x,t,u\n0.1,0.2,inf\n", r"column 'u' has Inf at line 2"),
        ("x,t,u\n0.1,0.2\n", r"line 2: 2 fields, expected 3"),
        ("x,t,u\n0.1,abc,0.3\n", r"line 2, column 't': 'abc' is not a number"),
        ("x,t,u,w\n0.1,0.2,0.3,0.5\n", r"column 'w' is neither a coordinate"),
        ("x,u\n0.1,0.3\n", r"no column for coordinates \['t'\]"),
        ("x,t,u\n0.1,0.2,0.3\n5.0,0.2,0.3\n", r"1 point\(s\) lie outside the domain.*line 3 of .*'x': 5.0"),
        ("x,t,u\n", r"expected a header line and at least one data line"),
        ("x,x,u\n1,2,3\n", r"distinct"),
    ],
)
def test_bad_csv_is_refused_naming_column_and_row(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(po.DataError, match=message):
        system([po.Observations.from_csv(write(tmp_path, text))])


def test_bad_arrays_are_refused_naming_the_problem() -> None:
    pts = grid_points(3)
    good = values_at(pts)["u"]
    bad_value = good.copy()
    bad_value[4] = np.nan
    with pytest.raises(po.DataError, match=r"values of u\(x, t\) has NaN at row 4"):
        po.Observations(pts, {u: bad_value})
    bad_points = pts.copy()
    bad_points[2, 1] = np.inf
    with pytest.raises(po.DataError, match=r"points column 1 has Inf at row 2"):
        po.Observations(bad_points, {u: good})
    with pytest.raises(po.DataError, match=r"have 8 rows but there are 9 points"):
        po.Observations(pts, {u: good[:-1]})
    with pytest.raises(po.DataError, match=r"weights must be positive, got 0.0 at row 0"):
        po.Observations(pts, {u: good}, weights=np.zeros(9))
    with pytest.raises(po.DataError, match=r"points have 3 columns"):
        system([po.Observations(np.ones((9, 3)), {u: good})])
    with pytest.raises(po.DataError, match=r"row 8 \{'x': 1.0, 't': 9.0\}"):
        far = pts.copy()
        far[8, 1] = 9.0
        system([po.Observations(far, {u: good})])
    with pytest.raises(po.DataError, match=r"'w' is not an unknown"):
        system([po.Observations(pts, {"w": good})])
    with pytest.raises(po.DataError, match=r"quantity u is given twice"):
        system([po.Observations(pts, {u: good, "u": good})])
    with pytest.raises(po.DataError, match=r"expected exactly \['x', 't'\] \(unknown: \['y'\]\)"):
        system([po.Observations({"x": pts[:, 0], "y": pts[:, 1]}, {u: good})])
    with pytest.raises(po.UnknownSymbolError, match="symbol q is not declared"):
        system([po.Observations(pts, {u + sp.Symbol("q"): good})])
    with pytest.raises(po.ProblemError, match="distinct names"):
        system([po.Observations(pts, {u: good}), po.Observations(pts, {v: good})])
    assert issubclass(po.DataError, ValueError) and issubclass(po.DataError, po.PinnoptError)


def test_data_alone_fixes_the_constant_of_an_ode() -> None:
    """u' = cos(x) without a boundary condition: a few observations pick u = sin(x) + 1."""
    w = sp.Function("w")(x)
    pts = np.array([0.2, 0.5, 0.9])
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[w.diff(x) - sp.cos(x)],
        data=[po.Observations(pts, {w: np.sin(pts) + 1})],
        exact=sp.sin(x) + 1,
    )
    result = po.solve(
        problem,
        model=po.nn.MLP(width=12, depth=2),
        phases=[po.optim.Adam(steps=150, lr=1e-2), po.optim.LBFGS(steps=200)],
        collocation=po.Collocation(interior=48),
        log_every=100,
    )
    assert result.validate().rel_l2["w"] < 1e-4
