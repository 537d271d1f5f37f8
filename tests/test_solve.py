"""End-to-end solves on problems with exact solutions, and the use of a result."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt import problems

from .exact_problems import poisson1d


def test_poisson1d_reaches_1e_3_in_float64_under_60s(timer) -> None:
    with timer() as clock:
        result = po.solve(problems.get("poisson1d"), **problems.recommended("poisson1d"))
    v = result.validate()
    assert v.dtype == "float64"
    assert v.rel_l2["u"] <= 1e-3, v
    assert clock.seconds < 60
    assert result.history is not None
    assert len(result.history) == result.steps


def test_oscillator_reaches_1e_2_under_60s(timer) -> None:
    with timer() as clock:
        result = po.solve(problems.get("oscillator"), **problems.recommended("oscillator"))
    assert result.validate().rel_l2["u"] <= 1e-2
    assert clock.seconds < 60


@pytest.fixture(scope="module")
def small_result() -> po.Result:
    return po.solve(
        poisson1d(),
        model=po.nn.MLP(width=10, depth=2),
        phases=[po.optim.Adam(steps=200, lr=5e-3), po.optim.LBFGS(steps=200)],
        collocation=po.Collocation(interior=64, boundary=1),
        log_every=50,
    )


def test_history_is_continuous_across_phases(small_result: po.Result) -> None:
    h = small_result.history
    assert h is not None
    arrays = h.as_arrays()
    assert list(arrays["step"]) == list(range(1, small_result.steps + 1))
    assert set(arrays["phase"]) == {0, 1}
    assert set(h.terms) == {"pde", "x=-1", "x=1"}
    assert np.all(np.diff(arrays["time"]) >= 0)
    assert np.all(np.diff(arrays["evals"]) >= 1)
    lbfgs = small_result.outcome.phases[1]
    assert lbfgs.name == "LBFGS" and lbfgs.evaluations >= lbfgs.steps
    assert h.loss[-1] < h.loss[0] / 100


def test_predict_values_and_derivatives(small_result: po.Result) -> None:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    pts = np.linspace(-0.9, 0.9, 7)
    out = small_result.predict(pts, derivatives=[u.diff(x), u.diff(x, 2)])
    assert set(out) == {"u", "u_x", "u_xx"}  # readable names; the sympy key works too
    np.testing.assert_allclose(out["u"], np.sin(np.pi * pts), atol=5e-2)
    np.testing.assert_allclose(out[u.diff(x)], np.pi * np.cos(np.pi * pts), atol=0.3)
    assert out[str(u.diff(x))] is out["u_x"]
    with pytest.raises(po.DataError, match="shape"):
        small_result.predict(np.zeros((3, 2)))
    with pytest.raises(po.DataError, match="NaN"):
        small_result.predict(np.array([0.0, np.nan]))


def test_save_and_load_round_trip(small_result: po.Result, tmp_path) -> None:
    path = small_result.save(tmp_path / "model.pt")
    loaded = po.Result.load(path, problem=small_result.problem)
    pts = np.linspace(-1, 1, 11)
    np.testing.assert_array_equal(loaded.predict(pts)["u"], small_result.predict(pts)["u"])
    assert loaded.validate().rel_l2 == small_result.validate().rel_l2
    bare = po.Result.load(path)  # without the problem: values and derivatives still work
    x = sp.Symbol("x")
    out = bare.predict(pts, derivatives=[sp.Function("u")(x).diff(x)])
    assert out["u"].shape == (11,)
    with pytest.raises(po.ValidationError):
        bare.validate()


def test_load_refuses_foreign_files(tmp_path) -> None:
    bad = tmp_path / "bad.pt"
    torch.save({"format": "something else"}, bad)
    with pytest.raises(po.CheckpointError, match="not a pinnopt result"):
        po.Result.load(bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(po.CheckpointError):
        po.Result.load(junk)


def test_lbfgs_reports_which_tolerance_fired() -> None:
    result = po.solve(
        poisson1d(),
        model=po.nn.MLP(width=8, depth=2),
        phases=[po.optim.LBFGS(steps=5000, tolerance_change=1e-6)],
        collocation=po.Collocation(interior=32, boundary=1),
    )
    assert result.stop_reason is po.stop.StopReason.LOSS_CHANGE_TOLERANCE
    assert result.steps < 5000
    assert result.stop_reason.converged


def test_float32_and_validation_report_dtype() -> None:
    result = po.solve(
        poisson1d(),
        model=po.nn.MLP(width=8, depth=2),
        phases=[po.optim.Adam(steps=50)],
        collocation=po.Collocation(interior=32, boundary=1),
        dtype="float32",
    )
    assert result.validate().dtype == "float32"
    assert result.model.net.linears[0].weight.dtype == torch.float32


def test_divergence_restores_last_finite_state() -> None:
    result = po.solve(
        poisson1d(),
        model=po.nn.MLP(width=8, depth=2),
        phases=[po.optim.SGD(steps=400, lr=1e6)],
        collocation=po.Collocation(interior=32, boundary=1),
        log_every=10,
    )
    assert result.stop_reason is po.stop.StopReason.DIVERGED
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    assert np.isfinite(result.history.loss).all()


def test_inverse_parameter_is_fitted() -> None:
    """-u'' = k pi^2 sin(pi x) with data-free identification through a known boundary slope."""
    x = sp.Symbol("x")
    k = sp.Symbol("k")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - k * sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[
            po.On(sp.Eq(x, -1), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(x, 1), u.diff(x) + 2 * sp.pi, name="slope"),
        ],
        parameters=[po.Parameter(k, init=1.0, exact=2.0)],
        exact=2 * sp.sin(sp.pi * x),
    )
    result = po.solve(
        problem,
        model=po.nn.MLP(width=16, depth=2),
        phases=[po.optim.Adam(steps=300, lr=1e-2), po.optim.LBFGS(steps=500)],
        collocation=po.Collocation(interior=100, boundary=1),
    )
    v = result.validate()
    assert v.parameters["k"]["rel_error"] < 1e-2, v


def test_solve_rejects_bad_options() -> None:
    p = poisson1d()
    with pytest.raises(po.ConfigError, match="dtype"):
        po.solve(p, dtype="float16")
    with pytest.raises(po.ConfigError, match="phases"):
        po.solve(p, phases=[])
    with pytest.raises(po.ConfigError, match="steps"):
        po.optim.Adam(steps=-1)
    with pytest.raises(po.ConfigError, match="lr"):
        po.optim.Adam(lr=0)
    with pytest.raises(po.ConfigError, match="activation"):
        po.nn.MLP(activation="swish2")
    if not torch.cuda.is_available():
        with pytest.raises(po.ConfigError, match="CUDA is not available"):
            po.solve(p, runtime=po.Runtime(device="cuda"))
