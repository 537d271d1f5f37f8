"""History series (strategy records) and the trainer's objective_changed signal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt.train import History
from pinnopt.train.lbfgs import LBFGSOptimizer

from .train_helpers import setup


def _history() -> History:
    h = History(["a", "b"])
    z = torch.zeros(())
    for step in range(1, 7):
        h.record(step, 0, 0.1, float(step), step, z, torch.zeros(2))
        if step % 2 == 0:
            h.record_series("w", step, torch.tensor([step, -step], dtype=torch.float32), ["a", "b"])
    return h


def test_series_are_buffered_flushed_and_exported() -> None:
    h = _history()
    steps, values = h.series("w")  # reading flushes the pending records
    np.testing.assert_array_equal(steps, [2, 4, 6])
    np.testing.assert_array_equal(values, [[2, -2], [4, -4], [6, -6]])
    assert values.dtype == np.float64 and h.series_names == ("w",) and h.series_labels("w") == ("a", "b")
    h.flush()
    arrays = h.as_arrays()
    np.testing.assert_array_equal(arrays["w/step"], [2, 4, 6])
    np.testing.assert_array_equal(arrays["w/b"], [-2, -4, -6])
    assert len(arrays["step"]) == 6
    with pytest.raises(ValueError, match="labels"):
        h.record_series("w", 8, torch.zeros(2), ["a", "c"])
    with pytest.raises(KeyError, match="no series 'v'"):
        h.series("v")


def test_series_survive_state_dicts_and_follow_truncation() -> None:
    h = _history()
    h.flush()
    again = History(["a", "b"])
    again.load_state_dict(h.state_dict())
    np.testing.assert_array_equal(again.series("w")[1], h.series("w")[1])
    h.truncate(4)  # back to step 4: the record of step 6 goes too
    np.testing.assert_array_equal(h.series("w")[0], [2, 4])
    h.record_series("w", 5, torch.ones(2), ["a", "b"])
    h.discard_pending()
    np.testing.assert_array_equal(h.series("w")[0], [2, 4])


def test_objective_changed_makes_lbfgs_start_afresh() -> None:
    _, model, points, objective = setup()
    seen: list[tuple[int, int, bool]] = []

    def change(view: po.train.TrainingView, step: int) -> po.train.TrainingUpdate | None:
        return po.train.TrainingUpdate(objective_changed=True) if step == 5 else None

    def cb(view: po.train.TrainingView, step: int) -> None:
        opt = trainer._state.runner.opt  # the update of `change` is applied before this runs
        assert isinstance(opt, LBFGSOptimizer)
        seen.append((step, len(opt.s), opt.f is None))

    callbacks = [change, cb]
    trainer = po.train.Trainer(
        model, objective, points, [po.optim.LBFGS(8)], log_every=4, callbacks=callbacks
    )
    trainer.objective_changed()  # no phase yet: nothing to do
    trainer.run()
    by_step = {s: (pairs, fresh) for s, pairs, fresh in seen}
    assert by_step[4][0] > 0 and not by_step[4][1]
    assert by_step[5] == (0, True)  # memory dropped, loss to be re-evaluated
    assert by_step[6][0] <= 1 and not by_step[6][1]
