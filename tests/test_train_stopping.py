"""Stopping criteria fire when, and only when, they should; the result names the one that fired."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt.train import Observation, Trainer

from .train_helpers import SOLVE, ode_problem, setup


def _epochs(costs: list[float], start: int = 1) -> list[Observation]:
    return [Observation(i, i, c, 0.0, False) for i, c in enumerate(costs, start)]


def _first_firing(crit: po.train.Criterion, observations: list[Observation]) -> int | None:
    crit.reset()
    for obs in observations:
        if crit.observe(obs):
            return obs.step
    return None


def test_cost_threshold_and_convergence_on_synthetic_epochs() -> None:
    costs = [10.0, 5.0, 2.0, 1.0, 0.9, 0.85, 0.84, 0.84, 0.84, 0.84, 0.84, 0.84]
    assert _first_firing(po.stop.CostThreshold(1.0), _epochs(costs)) == 4
    assert _first_firing(po.stop.CostThreshold(0.1), _epochs(costs)) is None

    # A_e = mean of the last w epoch costs; the first e with |A_e - A_(e-1)| <= bound:
    def first(tol: float, relative: bool = False, w: int = 3) -> int:
        for e in range(w + 1, len(costs) + 1):
            a, prev = np.mean(costs[e - w : e]), np.mean(costs[e - w - 1 : e - 1])
            if abs(a - prev) <= (tol * abs(prev) if relative else tol):
                return e
        raise AssertionError

    assert _first_firing(po.stop.ConvergenceThreshold(0.01, window=3), _epochs(costs)) == first(0.01) == 9
    assert _first_firing(po.stop.ConvergenceThreshold(0.0, window=3), _epochs(costs)) == first(0.0) == 10
    rel = po.stop.ConvergenceThreshold(0.02, window=3, relative=True)
    assert _first_firing(rel, _epochs(costs)) == first(0.02, relative=True) == 9
    assert _first_firing(po.stop.ConvergenceThreshold(0.01, window=3), _epochs(costs[:8])) is None
    mid_epoch = Observation(20, 12, None, 0.0, True)  # no epoch ended: cost criteria keep their verdict
    crit = po.stop.CostThreshold(1.0)
    assert not crit.observe(mid_epoch)


def test_or_and_combinations() -> None:
    costs = [3.0, 2.0, 1.0, 0.5, 0.4, 0.3]
    either = po.stop.CostThreshold(0.45) | po.stop.MaxSteps(3)
    assert (
        _first_firing(either, _epochs(costs)) == 3
        and either.fired()[0].reason is po.stop.StopReason.MAX_STEPS
    )
    both = po.stop.CostThreshold(0.45) & po.stop.MaxSteps(3)
    assert _first_firing(both, _epochs(costs)) == 5
    assert {leaf.reason for leaf in both.fired()} == {
        po.stop.StopReason.COST_THRESHOLD,
        po.stop.StopReason.MAX_STEPS,
    }
    never = po.stop.CostThreshold(0.1) & po.stop.MaxSteps(2)
    assert _first_firing(never, _epochs(costs)) is None
    nested = (po.stop.CostThreshold(0.1) & po.stop.MaxSteps(2)) | po.stop.CostThreshold(0.35)
    assert _first_firing(nested, _epochs(costs)) == 6
    assert "CostThreshold(0.1) & MaxSteps(2)" in repr(nested)
    with pytest.raises(po.ConfigError, match="combine"):
        po.stop.MaxSteps(3) | 5  # type: ignore[operator]


def test_state_dict_round_trip_keeps_moving_windows() -> None:
    a = po.stop.ConvergenceThreshold(0.01, window=3) | po.stop.EarlyStopping(patience=2)
    b = po.stop.ConvergenceThreshold(0.01, window=3) | po.stop.EarlyStopping(patience=2)
    obs = _epochs([5.0, 4.0, 3.9, 3.85])
    for o in obs:
        a.observe(o)
    b.load_state_dict(a.state_dict())
    nxt = Observation(5, 5, 3.84, 0.0, False)
    assert a.observe(nxt) == b.observe(nxt)
    assert a.state_dict() == b.state_dict()


def test_cost_threshold_fires_at_the_first_epoch_below_it() -> None:
    _, model, points, objective = setup()
    out = Trainer(
        model, objective, points, [po.optim.Adam(300, lr=2e-2)], stop=po.stop.CostThreshold(0.05), log_every=1
    ).run()
    loss = out.history.loss
    assert out.reason is po.stop.StopReason.COST_THRESHOLD and "CostThreshold" in out.stop_detail
    assert loss[-1] <= 0.05 and np.all(loss[:-1] > 0.05)
    assert out.phases[0].reason is po.stop.StopReason.COST_THRESHOLD


def test_cost_threshold_on_mini_batch_epochs_uses_the_epoch_mean() -> None:
    _, model, points, objective = setup()
    phase = po.optim.Adam(400, lr=2e-2, batch=po.optim.MiniBatch(16))
    out = Trainer(model, objective, points, [phase], stop=po.stop.CostThreshold(0.05), log_every=1).run()
    h = out.history.as_arrays()
    epoch_cost = [h["loss"][h["epoch"] == e].mean() for e in range(1, out.epochs + 1)]
    assert out.reason is po.stop.StopReason.COST_THRESHOLD
    assert epoch_cost[-1] <= 0.05 and all(c > 0.05 for c in epoch_cost[:-1])
    assert out.steps == 4 * out.epochs  # stopped at an epoch end


def test_convergence_threshold_matches_the_history() -> None:
    _, model, points, objective = setup()
    stop = po.stop.ConvergenceThreshold(1e-3, window=5)
    out = Trainer(model, objective, points, [po.optim.Adam(400, lr=1e-2)], stop=stop, log_every=1).run()
    loss = out.history.loss
    avg = np.convolve(loss, np.ones(5) / 5, mode="valid")  # avg[i] = mean of epochs i+1..i+5
    first = next(i for i in range(1, len(avg)) if abs(avg[i] - avg[i - 1]) <= 1e-3) + 5
    assert out.reason is po.stop.StopReason.CONVERGED and out.steps == first < 400


def test_max_steps_is_exact_and_a_phase_criterion_only_ends_its_phase() -> None:
    _, model, points, objective = setup()
    phases = [po.optim.Adam(100, lr=1e-2, stop=po.stop.MaxSteps(7)), po.optim.SGD(100, lr=1e-3)]
    out = Trainer(model, objective, points, phases, stop=po.stop.MaxSteps(23), log_every=50).run()
    assert [o.steps for o in out.phases] == [7, 16]
    assert out.phases[0].reason is po.stop.StopReason.MAX_STEPS and out.reason is po.stop.StopReason.MAX_STEPS
    assert out.steps == 23


def test_time_limit_fires_and_metric_is_evaluated_every_k_steps() -> None:
    _, model, points, objective = setup()
    out = Trainer(
        model,
        objective,
        points,
        [po.optim.Adam(100000, lr=1e-3)],
        stop=po.stop.TimeLimit(0.3),
        log_every=1000,
    ).run()
    assert out.reason is po.stop.StopReason.TIME_LIMIT and out.steps < 100000 and out.wall_time_s >= 0.3
    calls: list[int] = []
    metric = po.stop.Metric("rel_l2", every=10)
    original = metric.evaluate

    def counted(model: torch.nn.Module, unknowns: tuple[str, ...]) -> float:
        calls.append(len(calls))
        return original(model, unknowns)

    object.__setattr__(metric, "evaluate", counted)
    crit = po.stop.MetricThreshold(0.05, metric)
    result = po.solve(ode_problem(), phases=[po.optim.Adam(400, lr=2e-2)], stop=crit, log_every=1, **SOLVE)
    assert result.stop_reason is po.stop.StopReason.METRIC_THRESHOLD
    assert result.steps % 10 == 0 and len(calls) == result.steps // 10  # every 10 steps, not every step
    assert crit.value <= 0.05 and result.validate().rel_l2["u"] == pytest.approx(crit.value, rel=1e-6)


def test_metric_threshold_that_is_never_met_does_not_fire() -> None:
    pts = np.linspace(0, 1, 50)
    stop = po.stop.MetricThreshold(1e-9, po.stop.Metric("mape", reference=(pts, {"u": 1 + pts**2}), every=5))
    result = po.solve(ode_problem(), phases=[po.optim.Adam(30, lr=1e-2)], stop=stop, **SOLVE)
    assert (
        result.stop_reason is po.stop.StopReason.STEP_BUDGET and stop.value is not None and stop.value > 1e-9
    )
    with pytest.raises(po.ConfigError, match="MAPE"):
        po.solve(
            ode_problem(),
            phases=[po.optim.Adam(10)],
            stop=po.stop.MetricThreshold(0.1, po.stop.Metric("mape", every=5)),  # x^2 is 0 at x = 0
            **SOLVE,
        )


def test_early_stopping_restores_the_best_model() -> None:
    _, model, points, objective = setup()
    seen: dict[int, list[torch.Tensor]] = {}

    def remember(view: po.train.TrainingView, step: int) -> None:
        seen[step] = list(view.parameters())

    early = po.stop.EarlyStopping(patience=10)
    # The warm-up raises the learning rate until the cost, after falling 100x, blows up.
    phase = po.optim.SGD(400, lr=0.3, schedule=po.optim.Warmup(200, start_factor=0.1))
    out = Trainer(model, objective, points, [phase], stop=early, callbacks=[remember], log_every=1).run()
    loss = out.history.loss
    best = int(np.argmin(loss)) + 1
    assert (
        out.reason is po.stop.StopReason.EARLY_STOPPING and "no improvement for 10 epochs" in out.stop_detail
    )
    assert early.best_step == best > 20 and loss[best - 1] < loss[0] / 100 and out.steps == best + 10
    for p, q in zip(model.parameters(), seen[best], strict=True):  # the best model is back
        assert torch.equal(p.detach(), q)
    _, model, points, objective = setup()  # a steadily improving run is not stopped
    steady = Trainer(
        model, objective, points, [po.optim.Adam(60, lr=1e-2)], stop=po.stop.EarlyStopping(10), log_every=1
    )
    assert steady.run().reason is po.stop.StopReason.STEP_BUDGET


def test_criteria_reject_bad_values() -> None:
    for make in (
        lambda: po.stop.CostThreshold(-1.0),
        lambda: po.stop.ConvergenceThreshold(1e-3, window=0),
        lambda: po.stop.MaxSteps(0),
        lambda: po.stop.TimeLimit(float("inf")),
        lambda: po.stop.EarlyStopping(patience=0),
        lambda: po.stop.Metric("l1"),
        lambda: po.stop.MetricThreshold(0.1, "rel_l2"),  # type: ignore[arg-type]
    ):
        with pytest.raises(po.ConfigError):
            make()
    with pytest.raises(po.ConfigError, match="stop"):
        po.solve(ode_problem(), stop=1e-3)  # type: ignore[arg-type]
