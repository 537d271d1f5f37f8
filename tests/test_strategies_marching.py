"""Time-marching: window problems, continuity, the stitched result, resume."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.workflows.configured import run_configuration
from pinnopt.workflows.marching import window_problem

from .strategy_helpers import SMALL, advection_problem, imbalanced_problem

KW = {**SMALL, "phases": [po.optim.Adam(30, lr=1e-2), po.optim.LBFGS(20)], "log_every": 10}


@pytest.fixture(scope="module")
def marched() -> po.workflows.MarchResult:
    return po.march(advection_problem(), po.Marching(2), **KW)


def test_windows_cover_time_and_continue_each_other(marched: po.workflows.MarchResult) -> None:
    assert len(marched.windows) == 2 and marched.edges == [0.0, 0.5, 1.0]
    first, second = marched.windows
    assert first.problem.domain.bounds == ((0.0, 0.0), (2 * np.pi, 0.5))
    assert second.problem.domain.bounds == ((0.0, 0.5), (2 * np.pi, 1.0))
    assert {s.name for s in first.problem.terms} == {"pde", "t=0", "x=0"}
    assert {s.name for s in second.problem.terms} == {"pde", "continuity_u", "x=0"}
    xs = np.linspace(0, 2 * np.pi, 9)
    at = {"x": xs, "t": np.full_like(xs, 0.5)}
    end, start = first.predict(at)["u"], second.predict(at)["u"]
    assert np.abs(end - start).mean() < 0.05 * np.abs(end).max()  # the continuity condition holds roughly
    pts = np.stack([xs, np.full_like(xs, 0.25)], axis=1)
    np.testing.assert_array_equal(marched.predict(pts)["u"], first.predict(pts)["u"])
    pts[:, 1] = 0.75
    np.testing.assert_array_equal(marched.predict(pts)["u"], second.predict(pts)["u"])
    v = marched.validate()
    assert v.n_points == 41 * 21 and v.rel_l2["u"] < 0.2
    assert marched.config["strategies"]["marching"]["windows"] == 2
    assert marched.config["strategies"]["embedding"]["kind"] == "PeriodicEmbedding"


def test_a_configuration_with_marching_returns_the_stitched_result() -> None:
    result = run_configuration(
        advection_problem(), marching=po.Marching(2, shared=False), **{**KW, "phases": [po.optim.Adam(3)]}
    )
    assert isinstance(result, po.workflows.MarchResult) and result.steps == 6


def test_solve_itself_does_not_march() -> None:
    with pytest.raises(TypeError, match="marching"):
        po.solve(advection_problem(), marching=po.Marching(2), **KW)  # type: ignore[call-arg]


def test_continuity_covers_every_constrained_time_derivative() -> None:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    wave = po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t, 2) - u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(t, 0), u - sp.sin(sp.pi * x)),
            po.On(sp.Eq(t, 0), u.diff(t), name="velocity"),
        ],
        exact=sp.sin(sp.pi * x) * sp.cos(sp.pi * t),
    )
    spec = po.Marching(4, points=32)
    first = window_problem(wave, spec, 0, [0.0, 0.25, 0.5, 0.75, 1.0], None)
    previous = po.Result(
        first,
        po.nn.PINN(po.nn.MLP(width=4, depth=1).build(2, 1, first.domain.bounds).double(), ["u"]),
        None,
        {},
    )
    later = window_problem(wave, spec, 2, [0.0, 0.25, 0.5, 0.75, 1.0], previous)
    names = {s.name: s for s in later.terms}
    assert set(names) == {"pde", "x=0", "x=1", "continuity_u", "continuity_u_t1"}
    assert names["continuity_u_t1"].n == 32 and names["continuity_u"].region.name == "t=0.5"
    with pytest.raises(po.ConfigError, match="time coordinate"):
        po.march(imbalanced_problem(), 2)


def _interrupt_after(n: int):
    calls = {"n": 0}

    def cb(trainer: po.train.Trainer, step: int) -> None:
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt

    return cb


def test_an_interrupted_march_resumes_bit_for_bit(marched: po.workflows.MarchResult, tmp_path) -> None:
    cut = po.march(advection_problem(), 2, checkpoint=tmp_path, callbacks=[_interrupt_after(50 + 36)], **KW)
    assert len(cut.windows) == 2 and cut.windows[1].stop_reason is po.stop.StopReason.INTERRUPTED
    assert (tmp_path / "window-0" / "result.pt").exists()
    resumed = po.march(advection_problem(), 2, checkpoint=tmp_path, resume=tmp_path, **KW)
    for a, b in zip(marched.windows, resumed.windows, strict=True):
        for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True):
            assert torch.equal(p, q)


def test_hard_constraints_make_each_window_start_exactly_at_the_previous_end() -> None:
    # The continuity condition u(x, t_k) = previous(x, t_k) is a value condition on a side of
    # the window, so hard_constraints=True enforces it exactly and drops its loss term.
    result = po.march(
        advection_problem(dirichlet=False),
        po.Marching(2),
        **{**SMALL, "phases": [po.optim.Adam(3)]},
        hard_constraints=True,
    )
    first, second = result.windows
    assert second.config["hard_constraints"] == ["continuity_u"]
    assert second.history.term_names == ("pde",)
    xs = np.linspace(0, 2 * np.pi, 9)
    at = {"x": xs, "t": np.full_like(xs, 0.5)}
    np.testing.assert_allclose(second.predict(at)["u"], first.predict(at)["u"], rtol=0, atol=1e-14)
