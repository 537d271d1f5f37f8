"""NaN at initialization names the term and the points; L-BFGS tells NaN from round-off."""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.train.lbfgs import LBFGSOptimizer, LBFGSStatus

from .train_helpers import SOLVE, ode_problem

x = sp.Symbol("x")
u = sp.Function("u")(x)


def sqrt_problem() -> po.Problem:
    """u'' = sqrt(u): the initial network is negative at some interior points, so the loss is NaN."""
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[u.diff(x, 2) - sp.sqrt(u)],
        conditions=[po.On(sp.Eq(x, -1), u - 1), po.On(sp.Eq(x, 1), u - 1)],
        name="sqrt_source",
    )


@pytest.mark.parametrize("phase", [po.optim.Adam(50, lr=1e-3), po.optim.LBFGS(20)], ids=["adam", "lbfgs"])
def test_nan_at_initialization_names_term_points_and_step_0(phase: po.train.Phase) -> None:
    result = po.solve(
        sqrt_problem(),
        model=po.nn.MLP(width=8, depth=2),
        phases=[phase],
        collocation=po.Collocation(interior=32, boundary=1),
        log_every=10,
        runtime=po.Runtime(progress=False),
    )
    assert result.stop_reason is po.stop.StopReason.NOT_FINITE
    assert result.outcome.retries == 0 and result.steps == 0  # no pointless learning-rate halvings
    detail = result.outcome.stop_detail
    assert "step 0" in detail and "term 'pde' is NaN" in detail and "points of 'interior'" in detail
    assert "first at index" in detail and "(x=" in detail
    assert "lower the learning rate" not in detail
    # the reported point is one where the residual really is undefined
    index = int(detail.split("first at index ")[1].split(" ")[0])
    coord = float(detail.split("(x=")[1].split(")")[0])
    point = torch.tensor([[coord]], dtype=torch.float64, requires_grad=True)
    assert float(result.model(point)[0, 0].detach()) < 0
    assert 0 <= index < 32


def test_a_divergence_from_a_finite_state_still_retries() -> None:
    result = po.solve(ode_problem(), phases=[po.optim.SGD(40, lr=1e6)], log_every=10, **SOLVE)
    assert result.stop_reason is po.stop.StopReason.DIVERGED and result.outcome.retries == 4


def _run(fn, x0: list[float], dtype: torch.dtype = torch.float64, iters: int = 500, **kw) -> LBFGSStatus:
    p = torch.tensor(x0, dtype=dtype, requires_grad=True)
    opt = LBFGSOptimizer([p], tolerance_grad=0.0, tolerance_change=-1.0, tolerance_step=0.0, **kw)

    def closure() -> tuple[torch.Tensor, None]:
        loss = fn(p)
        loss.backward()
        return loss.detach(), None

    for _ in range(iters):
        status = opt.step(closure)
        if status is not LBFGSStatus.CONTINUE:
            assert torch.isfinite(p).all()  # never left at a trial point
            return status
    return LBFGSStatus.CONTINUE


_G = torch.Generator().manual_seed(0)
_A, _B = (
    torch.randn(30, 20, generator=_G, dtype=torch.float64),
    torch.randn(30, generator=_G, dtype=torch.float64),
)


def _smooth(p: torch.Tensor) -> torch.Tensor:
    """A smooth convex loss of 20 parameters whose minimum no float represents exactly."""
    return 1 + torch.log(torch.cosh(_A.to(p.dtype) @ p - _B.to(p.dtype))).sum()


def test_lbfgs_at_round_off_has_converged_in_float64_and_float32() -> None:
    assert _run(_smooth, [0.0] * 20) is LBFGSStatus.ROUND_OFF
    assert _run(_smooth, [0.0] * 20, torch.float32) is LBFGSStatus.ROUND_OFF
    assert po.stop.StopReason.ROUND_OFF.converged and not po.stop.StopReason.LINE_SEARCH_FAILED.converged
    for reason in po.stop.StopReason:
        assert "try float64" not in reason.value


def test_lbfgs_nan_along_the_direction_is_not_called_round_off() -> None:
    def undefined_past_1(p: torch.Tensor) -> torch.Tensor:  # finite at x = 1, NaN for any x > 1
        return ((p - 2) ** 2 + torch.where(p > 1, math.nan, 0.0)).sum()

    assert _run(undefined_past_1, [1.0]) is LBFGSStatus.LINE_SEARCH_NOT_FINITE


def test_lbfgs_failure_above_round_off_is_a_failure() -> None:
    def jump(p: torch.Tensor) -> torch.Tensor:  # descent direction, but every step jumps up by 10
        return ((p - 2) ** 2 + 10.0 * (p != 1).to(p.dtype)).sum()

    assert _run(jump, [1.0]) is LBFGSStatus.LINE_SEARCH_FAILED


def test_float32_round_off_suggests_float64_only_in_float32() -> None:
    kw = {**SOLVE, "collocation": po.Collocation(interior=16, boundary=1)}
    phase = po.optim.LBFGS(600, tolerance_change=0, tolerance_grad=0, tolerance_step=0)
    result = po.solve(ode_problem(), phases=[phase], dtype="float32", log_every=100, **kw)
    outcome = result.outcome.phases[-1]
    assert outcome.reason is po.stop.StopReason.ROUND_OFF and outcome.steps < 600
    assert "float32 round-off: float64 may reach a lower loss" in outcome.detail
