"""Curriculum on a coefficient: the schedule, the recompiled terms, L-BFGS resets."""

from __future__ import annotations

import numpy as np
import pytest

import pinnopt as po
from pinnopt.train.runners import LBFGSRunner

from .strategy_helpers import SMALL, advection_problem, imbalanced_problem


def test_schedule_levels_then_the_target() -> None:
    c = po.optim.Curriculum("beta", 1.0, stages=4)
    levels = [c.value(s, 90, 30.0) for s in (0, 29, 30, 59, 60, 89, 90, 500)]
    assert levels == pytest.approx([1.0, 1.0, 1 + 29 / 3, 1 + 29 / 3, 1 + 58 / 3, 1 + 58 / 3, 30.0, 30.0])
    g = po.optim.Curriculum("beta", 1.0, stages=3, spacing="geometric")
    assert [g.value(s, 10, 100.0) for s in (0, 5, 10)] == pytest.approx([1.0, 10.0, 100.0])
    smooth = po.optim.Curriculum("beta", 0.0, stages=None)
    assert smooth.value(25, 100, 4.0) == pytest.approx(1.0)


RESETS: list[int] = []
"""L-BFGS runners told that the objective changed (test_a_change_during_lbfgs_resets_its_memory)."""


class _Probe(po.train.TrainingHook):
    """Records the objective's coefficient and whether L-BFGS lost its memory, after each step."""

    def __init__(self) -> None:
        self.beta: dict[int, float] = {}
        self.reset: dict[int, bool] = {}
        self._seen = 0

    def on_step(self, view: po.train.TrainingView) -> None:
        self.beta[view.step] = float(view.objective_scalars()["beta"])
        self.reset[view.step] = len(RESETS) > self._seen  # the runner was told the objective changed
        self._seen = len(RESETS)


def test_the_coefficient_rises_and_the_last_phase_trains_at_the_declared_value() -> None:
    probe = _Probe()
    result = po.solve(
        advection_problem(),
        strategies=[po.optim.Curriculum("beta", 0.5, stages=4)],
        phases=[po.optim.Adam(30, lr=1e-2), po.optim.Adam(10, lr=1e-3)],
        callbacks=[probe],
        log_every=10,
        **SMALL,
    )
    steps, values = result.history.series("curriculum")
    assert list(steps) == [0, 10, 20, 30]  # the default rise covers every phase but the last
    np.testing.assert_allclose(values[:, 0], [0.5, 1.0, 1.5, 2.0])
    assert probe.beta[9] == 0.5 and probe.beta[10] == 1.0 and probe.beta[40] == 2.0
    assert result.config["strategies"]["curriculum"]["symbol"] == "beta"
    assert result.validate().rel_l2["u"] < 2.0  # validated against the declared beta = 2


def test_a_change_during_lbfgs_resets_its_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    told = LBFGSRunner.objective_changed

    def spy(self: LBFGSRunner) -> None:
        RESETS.append(self.opt.n_iter if self.opt is not None else -1)
        told(self)

    RESETS.clear()
    monkeypatch.setattr(LBFGSRunner, "objective_changed", spy)
    probe = _Probe()
    result = po.solve(
        advection_problem(),
        strategies=[po.optim.Curriculum("beta", 1.0, steps=30, stages=3)],
        phases=[po.optim.Adam(10, lr=1e-2), po.optim.LBFGS(30)],
        callbacks=[probe],
        log_every=10,
        **SMALL,
    )
    assert probe.reset[15] and probe.beta[15] == 1.5  # the change at step 15 fell into L-BFGS
    assert not probe.reset[16]
    assert result.outcome.phases[1].steps == 30
    assert np.isfinite(result.history.loss).all()


def test_curriculum_errors_name_the_problem() -> None:
    with pytest.raises(po.ConfigError, match="not a constant of the problem"):
        po.solve(
            imbalanced_problem(), strategies=[po.optim.Curriculum("beta", 1.0)], phases=[po.optim.Adam(1)]
        )
    with pytest.raises(po.ConfigError, match="stages"):
        po.optim.Curriculum("beta", 1.0, stages=1)
    with pytest.raises(po.ConfigError, match="same sign"):
        po.solve(advection_problem(), strategies=[po.optim.Curriculum("beta", -1.0, spacing="geometric")])
