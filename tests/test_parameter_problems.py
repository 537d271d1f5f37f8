"""Problems made of parameters: min-max, symbolic models fitted to data, network regression.

No unknown function: ``po.Problem(minimize=..., parameters=..., uncertain=...)`` and
observations of expressions of the parameters, compiled and trained like any problem.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.errors import NoParameterError, UnusedSymbolError

theta, xi, A, k, t = sp.symbols("theta xi A k t")


def test_minmax_declared_in_six_lines_finds_theta_1_value_1_and_reports_the_worst_xi(tmp_path: Path) -> None:
    # min over theta of max over xi in [0, 1] of (theta - 2 xi)^2: theta* = 1, value 1, worst xi 0 or 1
    problem = po.Problem(
        minimize=(theta - 2 * xi) ** 2,
        parameters={theta: 0.0},
        uncertain={xi: po.robust.BoxSet(0, 1)},
        exact_parameters={theta: 1.0},
    )
    result = po.solve(problem, phases=[po.optim.LBFGS(steps=50)])
    assert abs(result.parameters["theta"] - 1.0) <= 1e-3
    assert abs(result.robust.robust_objective - 1.0) <= 1e-3
    (group,) = result.robust.groups
    assert group.worst["xi"] in (pytest.approx(0.0, abs=1e-9), pytest.approx(1.0, abs=1e-9))
    assert group.certified and group.terms == ("minimize",)
    assert problem.unknowns == () and problem.coordinates == () and not problem.has_domain
    assert result.validate().parameters["theta"]["rel_error"] <= 1e-3
    files = po.validate.report_run(result, tmp_path)
    report = json.loads(files["report"].read_text())
    assert report["robust"]["groups"][0]["worst"] in ({"xi": pytest.approx(0.0)}, {"xi": pytest.approx(1.0)})
    assert report["parameter_errors"]["theta"]["exact"] == 1.0
    assert "Worst case over the uncertainty set" in files["markdown"].read_text()
    loaded = po.Result.load(files["model"], problem)  # parameters only: no network to rebuild
    assert loaded.parameters == result.parameters and loaded.validate().parameters["theta"]["exact"] == 1.0


def test_fit_parameters_takes_uncertainty_sets_through_the_same_declaration() -> None:
    fit = po.workflows.fit_parameters(
        (theta - 2 * xi) ** 2, {theta: 0.3}, uncertain={xi: po.robust.BoxSet(0, 1)}, rounds=1
    )
    assert fit.values["theta"] == pytest.approx(1.0, abs=1e-6)
    assert fit.objective == pytest.approx(1.0, abs=1e-6)
    assert fit.robust is not None and fit.robust.certified
    assert fit.problem is not None and [c.name for c in fit.problem.losses] == ["objective"]


def _decay_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    T = np.linspace(0, 2, 41)
    return T, 2.0 * np.exp(-1.5 * T) + 0.02 * rng.standard_normal(T.size)


def test_two_coefficient_model_under_an_active_bound_agrees_with_slsqp_to_1e_4() -> None:
    optimize = pytest.importorskip("scipy.optimize")
    T, Y = _decay_data()
    ref = optimize.minimize(
        lambda p: np.mean((p[0] * np.exp(-p[1] * T) - Y) ** 2),
        [1.0, 0.5],
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda p: 1.2 - p[1]}],
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert ref.success and ref.x[1] == pytest.approx(1.2, abs=1e-9)  # the bound is active (free k ~ 1.5)
    data = [po.Observations({t: T}, {A * sp.exp(-k * t): Y})]  # a symbolic model: no unknown function
    for bound, tol in ((po.Bound(k <= 1.2, m=1e6), 1e-4), (po.Bound(k <= 1.2, method="reparam"), 1e-6)):
        problem = po.Problem(po.Interval(t, 0, 2), data=data, parameters={A: 1.0, k: 0.5}, bounds=[bound])
        result = po.solve(problem, phases=[po.optim.LBFGS(steps=500)])
        got = [result.parameters["A"], result.parameters["k"]]
        assert np.abs(np.subtract(got, ref.x)).max() < tol, (bound.method, got, ref.x)
        entry = po.validate.feasibility(result)["bound:k<=1.2"]
        assert entry.active and entry.max_violation == 0.0
    assert [s.name for s in problem.terms] == ["data:A*exp(-k*t)"]


def test_regression_network_with_a_bound_and_a_weight_prior_trains_in_mini_batches_and_ends_feasible(
    tmp_path: Path,
) -> None:
    torch.manual_seed(0)
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(256, 2))
    Y = 0.5 * np.maximum(0.0, X[:, 0] + X[:, 1]) + 0.05 * rng.standard_normal(256)  # noisy, dips below 0
    assert (Y < 0).sum() > 20
    problem = po.Problem(
        po.Box([x, y], [-1, -1], [1, 1]),
        data=[po.Observations(X, {u: Y})],
        bounds=[po.Bound(u >= 0, m=100.0, n=512, continuation=po.Continuation(1.0))],
        regularization=[po.WeightPrior(1e-5)],
    )
    size = 32
    result = po.solve(
        problem,
        model=po.nn.MLP(width=16, depth=2),
        phases=[po.optim.Adam(steps=400, lr=1e-2)],
        batch=po.optim.MiniBatch(size, scale_lr=True),
        log_every=200,
    )
    (lr,) = result.config["learning_rates"]
    assert lr["batch"]["size"] == size and lr["effective_lr"] == pytest.approx(1e-2 * size / 32)
    terms = result.history.as_arrays()
    assert terms["term/prior:weights"][-1] > 0 and terms["term/data:u"][-1] < 0.02  # noise variance 0.0025
    feas = po.validate.feasibility(result, n=201 * 201)  # a dense grid of the box
    assert feas.feasible and feas["bound:u(x,y)>=0"].n_points == 201 * 201
    files = po.validate.report_run(result, tmp_path, plots=False)
    report = json.loads(files["report"].read_text())
    assert report["feasibility"]["feasible"] and report["feasibility"]["constraints"][0]["n_points"] > 1000
    assert "every constraint holds" in files["markdown"].read_text()


def test_robust_linear_model_over_input_perturbations_matches_its_closed_form() -> None:
    # max over a shared input shift d in [-e, e] of mean((a (x + d) + b - y)^2) is
    # mean(r^2) + 2 e |a| |mean r| + e^2 a^2; its minimizer has mean r = 0 and
    # a = cov(x, y) / (var(x) + e^2): ridge regression on the slope.
    x, a, b, d = sp.symbols("x a b d")
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, 64)
    Y = 1.5 * X + 0.3 + 0.1 * rng.standard_normal(64)
    e = 0.5
    a_star = np.mean((X - X.mean()) * (Y - Y.mean())) / (X.var() + e**2)
    b_star = Y.mean() - a_star * X.mean()
    problem = po.Problem(
        po.Interval(x, -1, 1),
        data=[po.Observations({x: X}, {a * (x + d) + b: Y})],
        parameters={a: 0.0, b: 0.0},
        uncertain={d: po.robust.BoxSet(-e, e)},
    )
    result = po.solve(
        problem,
        phases=[po.optim.Adam(steps=600, lr=3e-2, schedule=po.optim.CosineDecay())],
        robust=po.robust.Robust(method=po.robust.Vertices()),
        log_every=600,
    )
    assert result.parameters["a"] == pytest.approx(a_star, abs=2e-3)
    assert result.parameters["b"] == pytest.approx(b_star, abs=2e-3)
    worst = np.mean((a_star * X + b_star - Y) ** 2) + e**2 * a_star**2
    assert result.robust.robust_objective == pytest.approx(worst, rel=1e-4)
    # the nominal solve's audit measures its data misfit, not the bare model output
    nominal = po.solve(problem, robust=False, phases=[po.optim.LBFGS(steps=100)])
    assert nominal.robust.nominal_objective < 0.02 < worst < nominal.robust.robust_objective


def test_bad_declarations_raise_named_errors() -> None:
    with pytest.raises(NoParameterError, match=r"involves no trainable parameter.*theta"):
        po.Problem(minimize=(xi - 1) ** 2, parameters={theta: 0.0}, uncertain={xi: po.robust.BoxSet(0, 1)})
    over_eta = {sp.Symbol("eta"): po.robust.BoxSet(0, 1)}
    with pytest.raises(UnusedSymbolError, match=r"\['eta'\] appear in no loss"):
        po.Problem(minimize=(theta - 1) ** 2, parameters={theta: 0.0}, uncertain=over_eta)
    with pytest.raises(po.UnknownSymbolError, match="xi"):  # a set over eta, but the loss reads xi
        po.Problem(minimize=(theta - xi) ** 2, parameters={theta: 0.0}, uncertain=over_eta)
    with pytest.raises(po.ProblemError, match="not a declared parameter"):
        po.Problem(minimize=(theta - 1) ** 2, parameters={theta: 0.0}, exact_parameters={xi: 1.0})
    with pytest.raises(po.ProblemError, match="involves coordinates or unknown functions"):
        po.Problem(po.Interval(t, 0, 1), minimize=theta * t, parameters={theta: 0.0})
    with pytest.raises(po.ProblemError, match="not a relation"):
        po.Minimize(theta >= 1)
    with pytest.raises(po.NoUnknownError, match=r"Problem\(minimize=expr\)"):
        po.Problem(equations=[theta - 1], parameters={theta: 0.0})
    problem = po.Problem(minimize=(theta - 1) ** 2, parameters={theta: 0.0})
    with pytest.raises(po.ConfigError, match=r"no unknown function.*model=None"):
        po.solve(problem, model=po.nn.MLP())
    with pytest.raises(po.ProblemError, match="weight"):
        po.WeightPrior(weight=-1.0)


def test_losses_weights_names_and_other_items_compose() -> None:
    a, b = sp.symbols("a b")
    problem = po.Problem(
        minimize=[po.Minimize((a - 3) ** 2, name="fit"), po.Minimize(b**2, weight=2.0)],
        parameters={a: 0.0, b: 1.0},
        bounds=[po.Bound(a <= 2, method="reparam")],
        equalities=[po.Equality(sp.Eq(a + b, 2.5), rho=100.0, every=25)],
        regularization=[po.L2(b, prior=0.0, weight=1e-3)],
    )
    assert [c.name for c in problem.losses] == ["fit", "minimize1"]
    result = po.solve(problem, phases=[po.optim.Adam(steps=300, lr=5e-2), po.optim.LBFGS(steps=100)])
    # without the bound a = 8/3; the bound holds it below 2 (reparam: approached from inside),
    # and the equality then gives b = 0.5 (augmented Lagrangian, multipliers during Adam)
    assert result.parameters["a"] == pytest.approx(2.0, abs=2e-2) and result.parameters["a"] <= 2.0
    assert result.parameters["a"] + result.parameters["b"] == pytest.approx(2.5, abs=2e-2)


def test_any_torch_module_fits_data_and_the_weight_prior_is_ridge_regression() -> None:
    # u = w . (x, y) + c as a torch.nn.Linear; mean((u - Y)^2) + lam |w|^2 is ridge regression
    # with an unpenalized intercept (the prior skips biases): a closed form to compare with.
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(100, 2))
    Y = X @ np.array([1.0, -2.0]) + 0.5 + 0.1 * rng.standard_normal(100)
    lam = 0.3
    problem = po.Problem(
        po.Box([x, y], [-1, -1], [1, 1]),
        data=[po.Observations(X, {u: Y})],
        regularization=[po.WeightPrior(lam)],
    )
    net = torch.nn.Linear(2, 1).double()
    result = po.solve(problem, model=net, phases=[po.optim.LBFGS(steps=100)])
    Xc, Yc = X - X.mean(0), Y - Y.mean()
    w = np.linalg.solve(Xc.T @ Xc / len(Y) + lam * np.eye(2), Xc.T @ Yc / len(Y))
    c = Y.mean() - X.mean(0) @ w
    np.testing.assert_allclose(net.weight.detach().numpy()[0], w, atol=1e-8)
    assert float(net.bias.detach()) == pytest.approx(c, abs=1e-8)
    pred = result.predict(X)["u"]
    np.testing.assert_allclose(pred, X @ w + c, atol=1e-8)


def test_a_torch_module_fit_takes_the_worst_case_over_an_uncertain_sensor_gain() -> None:
    # observations of g * u with the gain g in [0.8, 1.2]: the misfit is convex in g, so the
    # worst case is an end point; benchmarks/optimization.py runs it to the SLSQP optimum
    x, g = sp.symbols("x g")
    u = sp.Function("u")(x)
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, 50)
    Y = 2.0 * X + 0.5 + 0.05 * rng.standard_normal(50)
    problem = po.Problem(
        po.Interval(x, 0, 1),
        data=[po.Observations({x: X}, {g * u: Y})],
        uncertain={g: po.robust.BoxSet(0.8, 1.2)},
    )
    torch.manual_seed(0)
    net = torch.nn.Linear(1, 1).double()
    result = po.solve(
        problem,
        model=net,
        phases=[po.optim.Adam(steps=200, lr=5e-2)],
        robust=po.robust.Robust(method=po.robust.Vertices()),  # exact: the misfit is convex in g
        log_every=200,
    )
    (group,) = result.robust.groups
    assert group.terms == ("data:g*u(x)",) and group.certified
    assert group.worst["g"] in (pytest.approx(0.8), pytest.approx(1.2))
    assert result.robust.robust_objective > result.robust.nominal_objective
    assert result.history.loss[-1] < 0.2 * result.history.loss[0]
