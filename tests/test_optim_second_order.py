"""Second-order phases: Levenberg-Marquardt / Gauss-Newton, SSBFGS and SSBroyden."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.train import Trainer
from pinnopt.train.jacobian import LeastSquares
from pinnopt.train.lbfgs import LBFGSOptimizer
from pinnopt.train.quasi_newton import SelfScaledOptimizer

from .train_helpers import SOLVE, full_loss, ode_problem, setup

torch.set_num_threads(1)


def _frozen_body(model: torch.nn.Module) -> list[torch.Tensor]:
    """Freeze every layer but the last linear one: the residuals become linear in the parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():  # distinct features: a well-conditioned problem (cond(J) ~ 2e3)
        hidden = model.net.linears[-2]
        hidden.weight.copy_(torch.linspace(-3, 3, hidden.weight.numel()).view_as(hidden.weight).flip(0))
        hidden.bias.copy_(torch.linspace(-1.5, 1.5, hidden.bias.numel()))
    last = model.net.linears[-1]
    for p in last.parameters():
        p.requires_grad_(True)
    return list(last.parameters())


def test_linear_least_squares_converges_in_a_few_steps() -> None:
    _, model, points, objective = setup(interior=64)
    params = _frozen_body(model)
    ls = LeastSquares(objective, model, params, "test")
    r0, _ = ls.values(points)
    jac = ls.jacobian(points)
    delta = torch.linalg.lstsq(jac, -r0[:, None]).solution[:, 0]
    optimum = float(((r0 + jac @ delta) ** 2).sum())
    start = full_loss(model, objective, points)
    Trainer(model, objective, points, [po.optim.LevenbergMarquardt(5, damping=1e-10)], log_every=1).run()
    gap = full_loss(model, objective, points) - optimum
    assert start - optimum > 1e-2
    assert gap <= 1e-12 * (start - optimum)


def test_jacobian_matches_finite_differences() -> None:
    _, model, points, objective = setup(interior=16)
    params = [p for p in model.parameters() if p.requires_grad]
    ls = LeastSquares(objective, model, params, "test")
    jac = ls.jacobian(points)
    r, _ = ls.values(points)
    assert torch.allclose(ls.vector(ls.flat(), points), r, atol=1e-13)
    assert float(r @ r) == pytest.approx(full_loss(model, objective, points), rel=1e-12)
    theta = ls.flat()
    h = 1e-6
    for i in (0, 7, theta.numel() - 1):
        e = torch.zeros_like(theta)
        e[i] = h
        fd = (ls.vector(theta + e, points) - ls.vector(theta - e, points)) / (2 * h)
        assert torch.allclose(fd, jac[:, i], atol=1e-8), i
    v = torch.randn(theta.numel(), dtype=theta.dtype)
    jv, jtu = ls.operators(points)
    assert torch.allclose(jv(v), jac @ v, atol=1e-12)
    assert torch.allclose(jtu(r), jac.T @ r, atol=1e-12)


def test_levenberg_marquardt_trains_a_pinn_and_names_its_stop() -> None:
    res = po.solve(ode_problem(), phases=[po.optim.LevenbergMarquardt(30)], **SOLVE)
    assert res.validate().rel_l2["u"] < 1e-3
    assert res.history.loss[-1] < 1e-3 * res.history.loss[0]
    assert res.stop_reason in {
        po.stop.StopReason.STEP_BUDGET,
        po.stop.StopReason.DAMPING_LIMIT,
        po.stop.StopReason.STEP_TOLERANCE,
        po.stop.StopReason.GRADIENT_TOLERANCE,
    }


def test_too_large_jacobian_switches_to_matrix_free_or_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pinnopt.train"):
        res = po.solve(
            ode_problem(), phases=[po.optim.LevenbergMarquardt(10, max_jacobian_bytes=1000)], **SOLVE
        )
    assert "matrix-free conjugate gradients" in caplog.text and "max_jacobian_bytes" in caplog.text
    assert res.history.loss[-1] < 1e-2 * res.history.loss[0]
    for solver in ("cholesky", "dual"):
        with pytest.raises(po.ConfigError, match=f"solver='{solver}'.*solver='cg'"):
            po.solve(
                ode_problem(),
                phases=[po.optim.LevenbergMarquardt(10, solver=solver, max_jacobian_bytes=1000)],
                **SOLVE,
            )


@pytest.mark.parametrize("scaling", ["marquardt", "identity"])
def test_dual_solve_takes_the_same_steps_as_the_normal_equations(
    scaling: str, caplog: pytest.LogCaptureFixture
) -> None:
    """65 residuals, 97 parameters: ``auto`` solves with J J^T, and the steps are those of J^T J."""
    opts = {**SOLVE, "dtype": "float64", "log_every": 1}
    losses = {}
    for solver in ("auto", "cholesky", "dual"):
        with caplog.at_level(logging.INFO, logger="pinnopt.train"):
            phase = po.optim.LevenbergMarquardt(15, solver=solver, scaling=scaling)
            losses[solver] = np.array(po.solve(ode_problem(), phases=[phase], seed=0, **opts).history.loss)
        if solver == "auto":
            assert "Cholesky of J J^T" in caplog.text
    assert losses["cholesky"][-1] < 1e-3 * losses["cholesky"][0]
    assert len(losses["dual"]) == len(losses["cholesky"])
    np.testing.assert_allclose(losses["dual"], losses["cholesky"], rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(losses["auto"], losses["dual"], rtol=0, atol=0)


def test_terms_that_are_not_sums_of_squares_are_refused_by_name() -> None:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x) - 1],
        conditions=[po.On(sp.Eq(x, 0), u)],
        bounds=[po.Bound(u >= -1)],
    )
    with pytest.raises(po.ConfigError, match="not a sum of squared residuals"):
        po.solve(problem, phases=[po.optim.LevenbergMarquardt(3)], **SOLVE)


def test_gauss_newton_and_float32() -> None:
    res = po.solve(ode_problem(), phases=[po.optim.LevenbergMarquardt(10), po.optim.GaussNewton(5)], **SOLVE)
    assert res.history.loss[-1] < 1e-2 * res.history.loss[0]
    assert res.history.loss[-1] <= 1.01 * res.history.loss[9]
    res32 = po.solve(ode_problem(), phases=[po.optim.LevenbergMarquardt(20)], dtype="float32", **SOLVE)
    assert res32.history.loss[-1] < 1e-3 * res32.history.loss[0]


def test_inverse_problem_recovers_the_coefficient() -> None:
    x, k = sp.symbols("x k")
    u = sp.Function("u")(x)
    xs = np.linspace(0, 1, 11)
    obs = po.Observations({x: xs}, {u: 0.7 * xs**2})
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x) - 2 * k * x],
        conditions=[po.On(sp.Eq(x, 0), u)],
        parameters={k: 0.2},
        data=[obs],
    )
    res = po.solve(problem, phases=[po.optim.LevenbergMarquardt(60)], **SOLVE)
    assert res.parameters["k"] == pytest.approx(0.7, rel=1e-4)


def _solve_ode(phases: list[Any], **kw: Any) -> po.Result:
    return po.solve(
        ode_problem(), phases=phases, log_every=5, runtime=po.Runtime(progress=False), **SOLVE, **kw
    )


def _interrupt_at(k: int) -> Any:
    def cb(trainer: Any, step: int) -> None:
        if step == k:
            raise KeyboardInterrupt

    return cb


@pytest.mark.parametrize(
    "make",
    [
        lambda: [po.optim.Adam(5, lr=1e-2), po.optim.LevenbergMarquardt(15)],
        lambda: [po.optim.Adam(5, lr=1e-2), po.optim.SSBFGS(25)],
        lambda: [po.optim.Adam(5, lr=1e-2), po.optim.SSBroyden(25)],
    ],
    ids=["lm", "ssbfgs", "ssbroyden"],
)
def test_resume_is_bit_for_bit(make: Any, tmp_path: Path) -> None:
    whole = _solve_ode(make())
    stop_at = 13
    first = _solve_ode(
        make(), callbacks=[_interrupt_at(stop_at)], checkpoint=po.callbacks.Checkpoint(tmp_path, every=4)
    )
    assert first.stop_reason is po.stop.StopReason.INTERRUPTED
    resumed = _solve_ode(make(), resume=tmp_path)
    assert resumed.steps == whole.steps
    for p0, p1 in zip(whole.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(p0, p1)
    np.testing.assert_array_equal(resumed.history.loss, whole.history.loss)


@pytest.mark.parametrize("phase", [po.optim.SSBFGS(60), po.optim.SSBroyden(60)], ids=["ssbfgs", "ssbroyden"])
def test_self_scaled_phases_reduce_the_loss(phase: po.optim.Phase) -> None:
    res = _solve_ode([po.optim.Adam(20, lr=1e-2), phase])
    assert res.history.loss[-1] < 1e-3 * res.history.loss[19]


@pytest.mark.parametrize("method", ["bfgs", "broyden"])
def test_self_scaled_matches_or_beats_lbfgs_on_a_quadratic(method: str) -> None:
    gen = torch.Generator().manual_seed(0)
    n = 40
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    a = q @ torch.diag(torch.logspace(0, 4, n, dtype=torch.float64)) @ q.T
    b = torch.randn(n, generator=gen, dtype=torch.float64)
    f_min = float(-0.5 * b @ torch.linalg.solve(a, b))

    def run(make: Any) -> float:
        x = torch.zeros(n, dtype=torch.float64, requires_grad=True)
        opt = make([x])

        def closure() -> tuple[torch.Tensor, None]:
            f = 0.5 * x @ a @ x - b @ x
            f.backward()
            return f.detach(), None

        for _ in range(30):
            opt.step(closure)
        return float(0.5 * x.detach() @ a @ x.detach() - b @ x.detach()) - f_min

    gap_ss = run(lambda p: SelfScaledOptimizer(p, method=method, tolerance_grad=0, tolerance_change=0))
    gap_lbfgs = run(lambda p: LBFGSOptimizer(p, tolerance_grad=0, tolerance_change=0))
    assert gap_ss <= max(gap_lbfgs, 1e-12 * abs(f_min))


def test_dense_quasi_newton_refuses_too_many_parameters() -> None:
    with pytest.raises(po.ConfigError, match="max_parameters"):
        _solve_ode([po.optim.SSBFGS(5, max_parameters=10)])


def test_options_are_checked() -> None:
    with pytest.raises(po.ConfigError, match="solver"):
        po.optim.LevenbergMarquardt(solver="qr")
    with pytest.raises(po.ConfigError, match="damping"):
        po.optim.LevenbergMarquardt(damping=-1.0)
    with pytest.raises(po.ConfigError, match="full batch"):
        po.optim.SSBFGS(batch=po.optim.MiniBatch(8))
    assert "LevenbergMarquardt(steps=500" in repr(po.optim.LevenbergMarquardt())


def test_adaptive_points_between_levenberg_marquardt_steps() -> None:
    rar = po.sample.RAR(every=5, add=8, candidates=128)
    res = po.solve(ode_problem(), phases=[po.optim.LevenbergMarquardt(20)], strategies=[rar], **SOLVE)
    assert rar.updates == 4
    assert res.history.loss[-1] < 1e-3 * res.history.loss[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "phase",
    [po.optim.LevenbergMarquardt(8), po.optim.LevenbergMarquardt(8, solver="cg"), po.optim.SSBFGS(8)],
    ids=["lm", "lm-cg", "ssbfgs"],
)
def test_second_order_phases_on_cuda_follow_the_cpu(dtype: str, phase: po.optim.Phase) -> None:
    runs = {
        dev: po.solve(
            ode_problem(),
            phases=[po.optim.Adam(20, lr=1e-2), phase],
            dtype=dtype,
            log_every=5,
            runtime=po.Runtime(device=dev, progress=False),
            **SOLVE,
        )
        for dev in ("cpu", "cuda")
    }
    assert runs["cuda"].device.type == "cuda"
    cpu, cuda = (float(r.history.loss[-1]) for r in (runs["cpu"], runs["cuda"]))
    assert cuda < float(runs["cuda"].history.loss[20])  # the phase lowered the loss on the GPU
    tol = 1e-5 if dtype == "float64" else 5e-2
    assert cuda == pytest.approx(cpu, rel=tol, abs=1e-12)
