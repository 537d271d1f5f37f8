"""Checkpoint and resume stay bit-for-bit exact with every strategy switched on.

The pattern of tests/test_train_checkpoint.py: interrupt by a callback raising
KeyboardInterrupt, resume from the checkpoint, compare final parameters, history and
strategy records with the uninterrupted run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt.train import checkpoint as ckpt

from .strategy_helpers import SMALL, advection_problem

BALANCERS = [
    (po.balance.LRAnnealing(every=4), 13),
    (po.balance.GradNorm(every=4, lbfgs=True), 26),
    (po.balance.NTKWeights(every=4, probes=2), 13),
    (po.balance.ReLoBRaLo(every=4, lbfgs=True), 26),
    (po.balance.SelfAdaptive(lr=0.02, every=2), 13),
    (po.balance.FixedWeights({"t=0": 10.0}), 26),
]


def _solve(balance: object, **kw: object) -> po.Result:
    return po.solve(
        advection_problem(),
        strategies=[
            balance,
            po.balance.Causal(slabs=4, eps=(0.1, 1.0, 10.0), every=5, lbfgs=True),
            po.optim.Curriculum("beta", 1.0, steps=24, stages=3),
        ],
        phases=[po.optim.Adam(20, lr=1e-2, batch=po.optim.MiniBatch(64)), po.optim.LBFGS(12, history_size=5)],
        log_every=5,
        **SMALL,
        **kw,
    )


def _interrupt_at(k: int):
    def cb(trainer: po.train.Trainer, step: int) -> None:
        if step == k:
            raise KeyboardInterrupt

    return cb


@pytest.mark.parametrize(
    ("balance", "k"), BALANCERS, ids=lambda v: type(v).__name__ if not isinstance(v, int) else str(v)
)
def test_resume_with_every_strategy_is_bit_for_bit(balance: object, k: int, tmp_path) -> None:
    whole = _solve(balance)
    first = _solve(
        balance, callbacks=[_interrupt_at(k)], checkpoint=po.callbacks.Checkpoint(tmp_path, every=1000)
    )
    assert first.stop_reason is po.stop.StopReason.INTERRUPTED and first.steps == k
    assert [p.name.rsplit("-", 1)[0] for p in ckpt.checkpoints_in(tmp_path)] == [f"step-{k:09d}"]
    resumed = _solve(balance, resume=tmp_path)
    assert resumed.steps == whole.steps == 32
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(resumed.history.loss, whole.history.loss)
    for name in whole.history.series_names:
        s0, v0 = whole.history.series(name)
        s1, v1 = resumed.history.series(name)
        np.testing.assert_array_equal(s0, s1)
        np.testing.assert_array_equal(v0, v1)
    assert {"causal", "causal_eps", "curriculum"} <= set(whole.history.series_names)
