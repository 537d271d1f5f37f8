"""Levenberg-Marquardt on batch-norm models: the Jacobian follows the shared statistics."""

from __future__ import annotations

import warnings

import pytest
import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.nn.norm import BatchNorm
from pinnopt.train.jacobian import LeastSquares

from .train_helpers import ode_problem

torch.set_num_threads(1)


def _setup(norm: str | None = "batch") -> tuple[torch.nn.Module, dict, LeastSquares]:
    problem = ode_problem()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", po.PinnoptWarning)  # batch norm's cost warning
        model, _ = build_model(problem, po.nn.MLP(width=6, depth=2, norm=norm))
    model = model.double()
    with torch.no_grad():  # gamma, beta away from (1, 0): every parameter matters
        for m in model.modules():
            if isinstance(m, BatchNorm):
                m.weight.copy_(torch.linspace(0.5, 1.5, m.features))
                m.bias.copy_(torch.linspace(-0.3, 0.3, m.features))
    points = sample_points(
        problem,
        po.Collocation(interior=12, boundary=1),
        torch.Generator().manual_seed(0),
        torch.float64,
        torch.device("cpu"),
    )
    objective = build_objective(problem).to(torch.float64, torch.device("cpu"))
    ls = LeastSquares(objective, model, list(model.parameters()), "test")
    return model, points, ls


def test_jacobian_includes_the_statistics_coupling(monkeypatch: pytest.MonkeyPatch) -> None:
    model, points, ls = _setup()
    r, _ = ls.values(points)  # the objective's own evaluation (shared interior statistics)
    running = [b.clone() for b in model.buffers()]
    theta = ls.flat()
    assert torch.allclose(ls.vector(theta, points), r, atol=1e-13)
    jac = ls.jacobian(points)
    h = 1e-6
    for i in range(0, theta.numel(), 5):
        e = torch.zeros_like(theta)
        e[i] = h
        fd = (ls.vector(theta + e, points) - ls.vector(theta - e, points)) / (2 * h)
        assert torch.allclose(fd, jac[:, i], atol=1e-7), i
    v = torch.randn(theta.numel(), dtype=theta.dtype, generator=torch.Generator().manual_seed(1))
    jv, jtu = ls.operators(points)
    assert torch.allclose(jv(v), jac @ v, atol=1e-11)
    assert torch.allclose(jtu(r), jac.T @ r, atol=1e-11)
    # Jacobians and products never move the running estimates
    assert all(torch.equal(a, b) for a, b in zip(running, model.buffers(), strict=True))
    # the coupling matters: rows with the statistics held fixed are far from the true ones
    stats = ls._statistics
    monkeypatch.setattr(ls, "_statistics", lambda p, pts: stats(p, pts).detach())
    assert float((ls.jacobian(points) - jac).abs().max()) > 1e-2


def test_finite_differences_of_the_objective_itself() -> None:
    """The rows against central differences of the objective's residuals, moving the real weights."""
    model, points, ls = _setup()
    ls.values(points)
    jac = ls.jacobian(points)
    params = list(model.parameters())
    h = 1e-6
    col = 0
    for p in params:
        for j in (0, p.numel() - 1):
            with torch.no_grad():
                p.view(-1)[j] += h
            plus, _ = ls.values(points)
            with torch.no_grad():
                p.view(-1)[j] -= 2 * h
            minus, _ = ls.values(points)
            with torch.no_grad():
                p.view(-1)[j] += h
            assert torch.allclose((plus - minus) / (2 * h), jac[:, col + j], atol=1e-7), (col, j)
        col += p.numel()


def test_levenberg_marquardt_trains_batch_norm_poisson() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", po.PinnoptWarning)
        res = po.solve(
            problems.get("poisson1d"),
            model=po.nn.MLP(width=10, depth=2, norm="batch"),
            phases=[po.optim.Adam(steps=100, lr=1e-2), po.optim.LevenbergMarquardt(steps=40)],
            collocation=po.Collocation(48, boundary=2),
            seed=0,
            log_every=1000,
        )
    loss = res.history.loss
    assert loss[-1] < 1e-3 * loss[99], (loss[99], loss[-1])
    assert res.validate().rel_l2["u"] < 1e-2


def test_torch_batch_norm_is_refused_by_name() -> None:
    _, _, ls = _setup()
    lin = torch.nn.Linear
    net = torch.nn.Sequential(lin(1, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(), lin(4, 1))
    with pytest.raises(po.errors.ConfigError, match=r"torch\.nn batch-norm"):
        LeastSquares(ls.objective, net, list(net.parameters()), "LevenbergMarquardt")


def test_resume_with_batch_norm_is_bit_for_bit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Running estimates move at every evaluation (trial steps included): resume restores them."""

    def solve(**kw: object) -> po.Result:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", po.PinnoptWarning)
            return po.solve(
                ode_problem(),
                model=po.nn.MLP(width=6, depth=2, norm="batch"),
                collocation=po.Collocation(interior=32, boundary=1),
                phases=[po.optim.Adam(5, lr=1e-2), po.optim.LevenbergMarquardt(12)],
                log_every=5,
                runtime=po.Runtime(progress=False),
                **kw,  # type: ignore[arg-type]
            )

    def stop_at_11(trainer: object, step: int) -> None:
        if step == 11:
            raise KeyboardInterrupt

    whole = solve()
    first = solve(callbacks=[stop_at_11], checkpoint=po.callbacks.Checkpoint(tmp_path, every=4))
    assert first.stop_reason is po.stop.StopReason.INTERRUPTED
    resumed = solve(resume=tmp_path)
    after = resumed.model.state_dict()
    for name, p0 in whole.model.state_dict().items():
        assert torch.equal(p0, after[name]), name
