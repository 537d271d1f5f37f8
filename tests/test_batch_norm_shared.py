"""Batch norm takes its statistics from the interior batch and shares them with every point set."""

from __future__ import annotations

import pytest
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.losses import PointSet
from pinnopt.nn.norm import calibrate_batch_norm

from .exact_problems import poisson1d


def _setup(boundary: int = 2):
    problem = poisson1d()
    torch.manual_seed(0)
    model, _ = build_model(problem, po.nn.MLP(width=8, depth=2, norm="batch"))
    model = model.double()
    g = torch.Generator().manual_seed(0)
    collocation = po.Collocation(interior=32, boundary=boundary)
    points = sample_points(problem, collocation, g, torch.float64, torch.device("cpu"))
    objective = build_objective(problem).to(torch.float64, torch.device("cpu"))
    return model, points, objective


def test_a_batch_of_identical_points_is_refused() -> None:
    net = po.nn.MLP(width=6, depth=2, norm="batch").build(1, 1, ([-1.0], [1.0])).double()
    with pytest.raises(po.DataError, match="4 identical points"):
        net(torch.full((4, 1), 0.5, dtype=torch.float64))


def test_every_point_set_is_normalized_with_the_interior_statistics() -> None:
    model, points, objective = _setup()
    boundary = points["x=-1"].x
    assert len(boundary) == 2 and bool((boundary == boundary[0]).all())  # zero variance on its own
    ev = objective.evaluation(model, points)
    u_train = {name: ev.env(name).fields for name in points}
    # the same network with frozen statistics: those of the interior batch
    calibrate_batch_norm(model, points["interior"].x)
    model.eval()
    ev_eval = objective.evaluation(model, points)
    for name in points:
        frozen = ev_eval.env(name).fields
        for field, value in u_train[name].items():
            torch.testing.assert_close(value, frozen[field], rtol=1e-12, atol=1e-12)


def test_the_boundary_condition_reaches_the_weights_before_the_norm() -> None:
    """Normalized on its own, a set of identical points is the norm's bias: its loss would not
    depend on the first layer's weights at all."""
    model, points, objective = _setup()
    ev = objective.evaluation(model, points)
    index = objective.names.index("x=-1")
    loss = objective.losses(ev)[index]
    (grad,) = torch.autograd.grad(loss, [model.net.linears[0].weight])
    assert float(grad.abs().max()) > 1e-6


def test_the_trained_model_in_eval_mode_is_the_trained_function() -> None:
    seen: dict[str, PointSet] = {}
    problem = poisson1d()
    with pytest.warns(po.PinnoptWarning, match="norm='batch'.*docs/normalization.md"):
        result = po.solve(
            problem,
            model=po.nn.MLP(width=12, depth=2, norm="batch"),
            phases=[po.optim.Adam(steps=150, lr=1e-2), po.optim.LBFGS(steps=150)],
            collocation=po.Collocation(interior=64, boundary=2),
            callbacks=[lambda view, step: seen.update(view.points)],
            log_every=50,
        )
    assert result.validate().rel_l2["u"] < 1e-2  # was 3.7 with statistics per point set
    assert result.outcome.phases[-1].reason is po.stop.StopReason.STEP_BUDGET
    model = result.model
    model.eval()  # the running statistics, set at the end of training
    objective = build_objective(problem).to(torch.float64, torch.device("cpu"))
    eval_loss = float(objective(model, seen)[0].detach())
    # the last L-BFGS row is the loss at the final weights, with the interior batch statistics
    assert eval_loss == pytest.approx(float(result.history.loss[-1]), rel=1e-9)
