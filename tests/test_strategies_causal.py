"""Causal training: slab losses and weights, the eps schedule, the history, L-BFGS phases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt.losses import Term
from pinnopt.strategies import CausalTerm

from .strategy_helpers import SMALL, advection_problem, imbalanced_problem


class _Env:
    def __init__(self, t: torch.Tensor) -> None:
        self.coords = (torch.zeros_like(t), t)


class _Eval:
    def __init__(self, t: torch.Tensor) -> None:
        self._env = _Env(t)

    def env(self, name: str) -> _Env:
        return self._env


class _Residual(Term):  # a term with given residuals
    name = "pde"
    weight = 1.0
    point_set = "interior"

    def __init__(self, r: torch.Tensor) -> None:
        self.r = r

    def residual(self, ev: object) -> torch.Tensor:
        return self.r

    def loss(self, ev: object) -> torch.Tensor:
        return torch.mean(self.r**2)


def test_slab_losses_weights_and_gradient_follow_the_formula() -> None:
    t = torch.tensor([0.05, 0.1, 0.3, 0.35, 0.6, 0.99, 1.0], dtype=torch.float64)
    r = torch.tensor([1.0, 3.0, 2.0, 0.0, 1.0, 2.0, 4.0], dtype=torch.float64, requires_grad=True)
    eps = torch.tensor(0.5, dtype=torch.float64)
    term = CausalTerm(_Residual(r), axis=1, t0=0.0, t1=1.0, slabs=4, eps=eps)
    loss = term.loss(_Eval(t))
    slab = torch.tensor(
        [(1 + 9) / 2, (4 + 0) / 2, 1.0, (4 + 16) / 2], dtype=torch.float64
    )  # t = 1 in the last
    w = torch.exp(-0.5 * torch.tensor([0.0, 5.0, 7.0, 8.0], dtype=torch.float64))
    torch.testing.assert_close(term.last_losses, slab)
    torch.testing.assert_close(term.last_weights, w)
    torch.testing.assert_close(loss, torch.mean(w * slab))
    (g,) = torch.autograd.grad(loss, r)  # the weights are constants: d/dr_j = w_slab * 2 r_j / (n_slab * 4)
    expect = (
        torch.tensor([w[0], w[0], w[1], w[1], w[2], w[3], w[3]])
        * r.detach()
        / torch.tensor([4, 4, 4, 4, 2, 4, 4])
    )
    torch.testing.assert_close(g, expect.to(g))


def test_eps_moves_along_its_schedule_and_the_history_shows_the_weights() -> None:
    causal = po.balance.Causal(slabs=8, eps=(1e-6, 1e-5, 1e3), every=10)
    result = po.solve(
        advection_problem(), strategies=[causal], phases=[po.optim.Adam(40, lr=1e-2)], log_every=10, **SMALL
    )
    steps, eps = result.history.series("causal_eps")
    assert list(steps) == [10, 20, 30, 40]
    np.testing.assert_allclose(eps[:, 0], [1e-5, 1e3, 1e3, 1e3])  # min weight > 0.99 at tiny eps: move on
    steps, w = result.history.series("causal")
    assert w.shape == (4, 8) and result.history.series_labels("causal")[0] == "w0"
    assert (w[:, 0] == 1.0).all() and (np.diff(w, axis=1) <= 0).all() and (w >= 0).all()
    assert w[-1, -1] < 1e-3  # eps = 1000: later slabs wait for the earlier ones
    arrays = result.history.as_arrays()
    np.testing.assert_array_equal(arrays["causal/w7"], w[:, 7])
    cfg = result.config["strategies"]["causal"]
    assert cfg["kind"] == "Causal" and cfg["slabs"] == 8 and cfg["eps"] == [1e-6, 1e-5, 1e3]


class _Probe(po.train.TrainingHook):
    """Records the causal term's frozen weights after every step."""

    def __init__(self) -> None:
        self.frozen: dict[int, torch.Tensor | None] = {}

    def on_step(self, view: po.train.TrainingView) -> None:
        term = next(t for t in view.terms if isinstance(t, CausalTerm))
        self.frozen[view.step] = None if term.frozen is None else term.frozen.clone()


@pytest.mark.parametrize("live", [False, True])
def test_lbfgs_sees_frozen_weights(live: bool) -> None:
    probe = _Probe()
    causal = po.balance.Causal(slabs=8, eps=1.0, every=5, lbfgs=live)
    result = po.solve(
        advection_problem(),
        strategies=[causal],
        callbacks=[probe],
        phases=[po.optim.Adam(20, lr=1e-2), po.optim.LBFGS(15)],
        log_every=5,
        **SMALL,
    )
    assert all(probe.frozen[s] is None for s in range(1, 21))
    lbfgs = [s for s in probe.frozen if s > 20]
    assert len(lbfgs) >= 10 and all(probe.frozen[s] is not None for s in lbfgs)
    first = probe.frozen[lbfgs[0]]
    same = [torch.equal(probe.frozen[s], first) for s in lbfgs if s < 25]
    assert all(same)  # constant between updates
    changed = any(not torch.equal(probe.frozen[s], first) for s in lbfgs)
    assert changed is live  # refreshed every 5 iterations only with lbfgs=True
    steps, _ = result.history.series("causal")
    assert bool(steps.max() > 20) is live
    loss = result.history.loss
    assert math.isfinite(loss[-1]) and loss[-1] < loss[19]


def test_causal_needs_a_time_coordinate() -> None:
    with pytest.raises(po.ConfigError, match="no time coordinate 't'"):
        po.solve(imbalanced_problem(), strategies=[po.balance.Causal()], phases=[po.optim.Adam(1)])
    with pytest.raises(po.ConfigError, match="must not decrease"):
        po.balance.Causal(eps=(1.0, 0.1))
    with pytest.raises(po.ConfigError, match="not a training strategy"):
        po.solve(advection_problem(), strategies=[32])
