"""Exact resume across batching x adaptive sampling x optimizer x strategy (a pairwise matrix).

Every run is interrupted at step 37, which is no multiple of any period used (hooks act
every 10 or 25 steps, check points every 10, mini-batch epochs are 2 steps, periodic
checkpoints every 25), resumed from the newest checkpoint, and its final parameters and
loss history are compared bit for bit (CPU, float64) with an uninterrupted run.

The combinations form an all-pairs covering array built deterministically below: every
pair of values of two factors appears in at least one valid combination. Combinations the
library refuses by design (a mini-batch or subset batching for an L-BFGS phase) are left
out, and :func:`test_refused_combinations_are_refused` checks that they are refused.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po

x, t, beta, a = sp.symbols("x t beta a")
STEPS, STOP_AT, LBFGS_FROM = 50, 37, 20

BATCHING: dict[str, Callable[[], po.train.Batching]] = {
    "full": lambda: po.optim.FullBatch(),
    "mini": lambda: po.optim.MiniBatch(16),
    "subset": lambda: po.optim.FullBatch(subset=0.5),
}
ADAPTIVE: dict[str, Callable[[], list[Any]]] = {
    "none": lambda: [],
    "rar": lambda: [po.sample.RAR(every=10, add=4, candidates=64)],
    "rad": lambda: [po.sample.RAD(every=25, candidates=64)],
    "resample": lambda: [po.sample.Resample(every=10)],
}
OPTIMIZER = ("adam", "lbfgs")
STRATEGY = (
    "none",
    "causal",
    "self_adaptive",
    "lr_annealing",
    "curriculum",
    "barrier",
    "augmented_lagrangian",
)
FACTORS: tuple[tuple[str, ...], ...] = (tuple(BATCHING), tuple(ADAPTIVE), OPTIMIZER, STRATEGY)


def refused(combo: tuple[str, ...]) -> str | None:
    """Why the library refuses a combination by design (None: it does not)."""
    batching, adaptive, optimizer, strategy = combo
    if optimizer == "lbfgs" and batching != "full":
        return "L-BFGS always uses the full batch"
    if strategy == "self_adaptive" and adaptive != "none":
        return "self-adaptive weights\\) that needs fixed point sets"
    return None


def covering_array() -> list[tuple[str, ...]]:
    """Valid combinations covering every pair of factor values that some valid combination holds.

    Greedy and deterministic: repeatedly take the first combination (in product order) that
    covers the most pairs not yet covered.
    """

    def pairs(combo: tuple[str, ...]) -> set[tuple[int, str, int, str]]:
        return {(i, combo[i], j, combo[j]) for i, j in itertools.combinations(range(len(combo)), 2)}

    valid = [c for c in itertools.product(*FACTORS) if not refused(c)]
    todo = set().union(*(pairs(c) for c in valid))
    chosen: list[tuple[str, ...]] = []
    while todo:
        best = max(valid, key=lambda c: len(pairs(c) & todo))
        chosen.append(best)
        todo -= pairs(best)
    return chosen


MATRIX = covering_array()


def _problem(strategy: str) -> po.Problem:
    """u_t + beta u_x = 0 on [0, 1]^2, u(x, 0) = a sin(pi x), u(0, t) = 0 (a = 1 unless fitted)."""
    u = sp.Function("u")(x, t)
    amp = a if strategy == "augmented_lagrangian" else 1
    kw: dict[str, Any] = {}
    if strategy == "augmented_lagrangian":
        kw["parameters"] = {a: 0.5}
        kw["equalities"] = [po.Equality(sp.Eq(a, 1), rho=1.0, every=10, name="amp")]
    if strategy == "barrier":
        kw["bounds"] = [po.Bound(u >= -2, m=10.0, continuation=po.Continuation(1.0, every=10))]
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + beta * u.diff(x)],
        conditions=[po.On(sp.Eq(t, 0), u - amp * sp.sin(sp.pi * x), n=16), po.On(sp.Eq(x, 0), u, n=8)],
        constants={beta: 1.0},
        name="resume_matrix",
        **kw,
    )


def _strategy(strategy: str) -> list[Any]:
    if strategy == "causal":
        return [po.balance.Causal(slabs=4, eps=(0.1, 1.0), every=10, lbfgs=True)]
    if strategy == "self_adaptive":
        return [po.balance.SelfAdaptive(lr=0.02, every=2)]
    if strategy == "lr_annealing":
        return [po.balance.LRAnnealing(every=10, lbfgs=True)]
    if strategy == "curriculum":
        return [po.optim.Curriculum("beta", 0.2, steps=40, stages=3)]
    return []


def _solve(combo: tuple[str, ...], **kw: Any) -> po.Result:
    batching, adaptive, optimizer, strategy = combo
    batch = BATCHING[batching]()
    if optimizer == "adam":
        phases = [po.optim.Adam(STEPS, lr=1e-2, batch=batch)]
    else:
        lbfgs = po.optim.LBFGS(STEPS - LBFGS_FROM, history_size=5, batch=batch)
        phases = [po.optim.Adam(LBFGS_FROM, lr=1e-2, batch=batch), lbfgs]
    return po.solve(
        _problem(strategy),
        model=po.nn.MLP(width=8, depth=1),
        collocation=po.Collocation(interior=32),
        phases=phases,
        strategies=[*ADAPTIVE[adaptive](), *_strategy(strategy)],
        log_every=10,
        runtime=po.Runtime(progress=False),
        **kw,
    )


def _interrupt_at(k: int) -> Callable[[Any, int], None]:
    def cb(trainer: Any, step: int) -> None:
        if step == k:
            raise KeyboardInterrupt

    return cb


def test_the_matrix_covers_every_coverable_pair() -> None:
    assert covering_array() == MATRIX  # deterministic
    seen = {(i, c[i], j, c[j]) for c in MATRIX for i, j in itertools.combinations(range(4), 2)}
    for (i, fi), (j, fj) in itertools.combinations(enumerate(FACTORS), 2):
        for vi, vj in itertools.product(fi, fj):
            coverable = any(not refused(c) and c[i] == vi and c[j] == vj for c in itertools.product(*FACTORS))
            assert ((i, vi, j, vj) in seen) == coverable, (vi, vj)
    assert len(MATRIX) < 40


REFUSED = [c for c in itertools.product(*FACTORS) if refused(c)]


@pytest.mark.parametrize("combo", [*REFUSED[::7], REFUSED[-1]], ids="-".join)
def test_refused_combinations_are_refused(combo: tuple[str, ...]) -> None:
    with pytest.raises(po.ConfigError, match=refused(combo)):
        _solve(combo)


@pytest.mark.parametrize("combo", MATRIX, ids="-".join)
def test_resume_is_bit_for_bit(combo: tuple[str, ...], tmp_path: Path) -> None:
    torch.set_num_threads(1)
    whole = _solve(combo)
    first = _solve(
        combo, callbacks=[_interrupt_at(STOP_AT)], checkpoint=po.callbacks.Checkpoint(tmp_path, every=25)
    )
    assert first.stop_reason is po.stop.StopReason.INTERRUPTED and first.steps == STOP_AT
    resumed = _solve(combo, resume=tmp_path)
    assert resumed.steps == whole.steps
    for (name, p0), p1 in zip(
        whole.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert p0.dtype == torch.float64
        assert torch.equal(p0, p1), f"{name} differs after resume"
    np.testing.assert_array_equal(resumed.history.loss, whole.history.loss)
