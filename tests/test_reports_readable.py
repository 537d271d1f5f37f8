"""Readable reports: term names, derivative keys, reference wording, parameter trajectories,
phase labels, one step count, and validation up to a constant."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import sympy as sp

import pinnopt as po
from pinnopt.validate.plots import phase_switches

x, t = sp.symbols("x t")


def poisson(exact: object = None) -> po.Problem:
    u = sp.Function("u")(x)
    exact = sp.sin(sp.pi * x) if exact is None else exact
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u)],
        exact=exact,
    )


def quick(problem: po.Problem, steps: int = 30, **kw) -> po.Result:
    phases = kw.pop("phases", [po.optim.Adam(steps=steps, lr=1e-2)])
    return po.solve(problem, model=po.nn.MLP(width=8, depth=1), phases=phases, log_every=10, **kw)


# -- term names -----------------------------------------------------------------------------------
def test_terms_sharing_a_region_are_named_by_what_they_constrain() -> None:
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t, 2) - u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 0), u.diff(x)),
            po.Initial(t, u, sp.sin(sp.pi * x)),
            po.InitialRate(t, u, 0),
            po.Neumann("x=1", u),
            po.Dirichlet("x=1", u, name="right wall"),
        ],
    )
    names = [term.name for term in problem.terms]
    assert names == ["pde", "u at x=0", "u_x at x=0", "initial u", "initial u_t", "x=1", "right wall"]
    assert len(set(names)) == len(names)
    assert not any("#" in n for n in names)
    # stable: the same declaration gives the same names
    assert [term.name for term in problem.terms] == names


def test_a_lone_condition_keeps_its_region_name_and_lorenz_names_its_unknowns() -> None:
    assert [term.name for term in poisson().terms] == ["pde", "x=-1", "x=1"]
    u = sp.Function("u")(x, t)
    written = po.Problem(  # the initial side written as an equation of t is "initial" too
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t, 2) - u.diff(x, 2)],
        conditions=[po.On(sp.Eq(t, 0), u), po.On(sp.Eq(t, 0), u.diff(t)), po.On(sp.Eq(t, 1), u)],
    )
    assert [term.name for term in written.terms] == ["pde", "initial u", "initial u_t", "t=1"]
    from problems import lorenz_inverse

    names = [term.name for term in lorenz_inverse.make_problem().terms]
    assert {"initial X", "initial Y", "initial Z"} <= set(names)


def test_identical_conditions_still_get_unique_names() -> None:
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2)],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 0), u - 1)],
    )
    assert [term.name for term in problem.terms] == ["pde", "u at x=0", "u at x=0#2"]


# -- predict ----------------------------------------------------------------------------------------
def test_predict_names_derivatives_readably_and_accepts_the_sympy_key() -> None:
    theta = sp.Function("theta")(t)
    problem = po.Problem(
        domain=po.Interval(t, 0, 1),
        equations=[theta.diff(t, 2) + theta],
        conditions=[po.Initial(t, theta, 1), po.InitialRate(t, theta, 0)],
    )
    assert [term.name for term in problem.terms] == ["pde", "initial theta", "initial theta_t"]
    result = quick(problem, steps=5)
    pts = np.linspace(0, 1, 7)
    pred = result.predict(pts, [theta.diff(t, 2), theta.diff(t), 2 * theta])
    assert set(pred) == {"theta", "theta_tt", "theta_t", "2*theta(t)"}
    assert pred[theta.diff(t, 2)] is pred["theta_tt"]
    assert pred[str(theta.diff(t, 2))] is pred["theta_tt"]  # the old key still works
    assert theta.diff(t) in pred and pred.get(theta.diff(t, 3)) is None
    np.testing.assert_allclose(pred["2*theta(t)"], 2 * pred["theta"])
    assert pred.outside == 0
    with pytest.raises(KeyError):
        pred[theta.diff(t, 3)]


def test_predict_warns_about_points_outside_the_domain(caplog) -> None:
    result = quick(poisson(), steps=2)
    caplog.clear()  # the training's progress lines
    with caplog.at_level(logging.WARNING, logger="pinnopt"):
        pred = result.predict(np.array([-1.0, 0.0, 1.0]))
    assert pred.outside == 0 and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with caplog.at_level(logging.WARNING, logger="pinnopt"):
        pred = result.predict(np.array([-1.5, 0.0, 1.0, 3.0]))
    assert pred.outside == 2
    assert any("2 of 4 points lie outside the domain" in r.getMessage() for r in caplog.records)
    assert np.isfinite(pred["u"]).all()  # still evaluated


# -- reference wording, up to a constant -------------------------------------------------------------
def test_numerical_reference_is_called_reference() -> None:
    symbolic = quick(poisson(), steps=5)
    assert symbolic.validate().reference == "exact"
    numeric = poisson(exact=lambda p: np.sin(np.pi * p[:, 0]))
    v = symbolic.validate.__func__(po.Result(numeric, symbolic.model, symbolic.outcome, symbolic.config))
    assert v.reference == "reference" and v.to_dict()["reference"] == "reference"
    assert "against the reference solution" in str(v)
    assert v.rel_l2["u"] == pytest.approx(symbolic.validate().rel_l2["u"], rel=1e-10)
    check = po.check_problem(numeric)
    assert check.reference == "reference" and "against its reference solution" in str(check)
    assert "against its exact solution" in str(po.check_problem(poisson()))


def test_validate_up_to_constant_removes_the_means() -> None:
    u = sp.Function("u")(x)
    result = quick(poisson(), steps=10)
    shifted = po.Result(poisson(exact=sp.sin(sp.pi * x) + 5), result.model, result.outcome, result.config)
    plain = shifted.validate()
    pts = shifted.problem.evaluation_points()
    pred = result.predict(pts)["u"]
    ref = np.sin(np.pi * pts[:, 0]) + 5
    p, r = pred - pred.mean(), ref - ref.mean()
    expected = np.linalg.norm(p - r) / np.linalg.norm(r)
    for key in (["u"], [u], [sp.Function("u")], "u"):
        v = shifted.validate(up_to_constant=key)
        assert v.rel_l2["u"] == pytest.approx(expected, rel=1e-12)
        assert v.up_to_constant == ("u",)
    assert plain.rel_l2["u"] != pytest.approx(expected, rel=1e-3)
    assert "up to an additive constant: u" in str(shifted.validate(up_to_constant=["u"]))
    with pytest.raises(po.ConfigError, match="'p' is not an unknown"):
        shifted.validate(up_to_constant=["p"])


# -- run reports -------------------------------------------------------------------------------------
def test_report_run_shows_parameter_trajectory_and_labels_phases(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    u = sp.Function("u")(x)
    k = sp.Symbol("k")
    xs = np.linspace(0.1, 0.9, 9)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[k * u.diff(x, 2) + sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u)],
        parameters=[po.Parameter(k, init=0.5, exact=1.0)],
        data=[po.Observations(xs[:, None], {"u": np.sin(np.pi * xs)})],
        exact=lambda p: np.sin(np.pi * p[:, 0]),
    )
    phases = [po.optim.Adam(steps=12, lr=1e-2), po.optim.SGD(steps=8, lr=1e-3)]
    result = quick(problem, phases=phases)
    files = po.validate.report_run(result, tmp_path)
    assert "parameters" in files and files["parameters"].is_file()
    report = json.loads(files["report"].read_text())
    traj = report["parameter_trajectory"]
    assert traj["step"][0] == 0 and traj["step"][-1] == result.steps and len(traj["step"]) <= 11
    assert traj["k"][0] == pytest.approx(0.5) and traj["k"][-1] == pytest.approx(result.parameters["k"])
    assert report["reference"] == "reference"
    md = files["markdown"].read_text()
    assert "### Parameter trajectory" in md and "## Error against the reference solution" in md
    arrays = result.history.as_arrays()
    names = [p.name for p in result.outcome.phases]
    assert phase_switches(arrays, names) == [(12.5, names[1])]
    assert phase_switches(arrays) == [(12.5, "phase 1")]


# -- one step count ------------------------------------------------------------------------------------
def test_stop_detail_names_the_step_the_run_stopped_at() -> None:
    result = quick(poisson(), steps=400, stop=po.stop.CostThreshold(5.0))
    assert result.stop_reason is po.stop.StopReason.COST_THRESHOLD
    assert result.steps < 400 and result.steps % 10 == 0  # stopped at a check point
    assert result.outcome.stop_detail.endswith(f"stopped at step {result.steps}")
    assert int(result.history.as_arrays()["step"][-1]) == result.steps
    assert f"at step {result.steps - 1}" not in result.outcome.stop_detail
