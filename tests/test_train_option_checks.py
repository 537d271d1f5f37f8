"""Run options are applied, refused with a ConfigError naming them, or warned about and recorded.

Schedules' flags, the tolerances of the quasi-Newton and Levenberg-Marquardt phases, options
that a Levenberg-Marquardt rule or solver never reads, and mini-batches larger than the sets.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Callable

import pytest

import pinnopt as po
from pinnopt.train import Trainer
from pinnopt.train.schedules import Schedule

from .train_helpers import SOLVE, ode_problem, setup

SCHEDULE_ARGS: dict[type[Schedule], dict[str, object]] = {
    po.optim.StepDecay: {"every": 5},
    po.optim.ExponentialDecay: {"rate": 0.5},
    po.optim.CosineDecay: {},
    po.optim.Warmup: {"steps": 5},
    po.optim.ReduceOnPlateau: {},
}


def test_every_schedule_is_listed() -> None:
    public = {getattr(po.optim, n) for n in po.optim.__all__}
    schedules = {c for c in public if isinstance(c, type) and issubclass(c, Schedule) and c is not Schedule}
    assert schedules == set(SCHEDULE_ARGS)


@pytest.mark.parametrize("cls", list(SCHEDULE_ARGS), ids=lambda c: c.__name__)
def test_schedule_flags_take_true_or_false_only(cls: type[Schedule]) -> None:
    flags = [f.name for f in dataclasses.fields(cls) if f.type == "bool"]  # type: ignore[arg-type]
    for name in flags:
        for bad in ("no", 0, 1, None):
            with pytest.raises(
                po.ConfigError, match=rf"{cls.__name__}\({name}={re.escape(repr(bad))}\).*True or False"
            ):
                cls(**SCHEDULE_ARGS[cls], **{name: bad})
        for good in (True, False):
            assert getattr(cls(**SCHEDULE_ARGS[cls], **{name: good}), name) is good


def test_staircase_and_relative_are_flags_that_change_the_schedule() -> None:
    assert [f.name for f in dataclasses.fields(po.optim.ExponentialDecay) if f.type == "bool"] == [
        "staircase"
    ]
    assert [f.name for f in dataclasses.fields(po.optim.ReduceOnPlateau) if f.type == "bool"] == ["relative"]
    smooth = po.optim.ExponentialDecay(0.5, every=5, staircase=False)
    assert smooth.multiplier(3, 10, {}) == pytest.approx(0.5**0.6)
    with pytest.raises(po.ConfigError, match="staircase='no'"):  # 'no' used to turn the staircase on
        po.optim.ExponentialDecay(0.5, every=5, staircase="no")  # type: ignore[arg-type]
    with pytest.raises(po.ConfigError, match="nesterov='no'"):
        po.optim.SGD(momentum=0.5, nesterov="no")  # type: ignore[arg-type]


TOLERANCES = {
    po.optim.LBFGS: ("tolerance_grad", "tolerance_change", "tolerance_step"),
    po.optim.SSBFGS: ("tolerance_grad", "tolerance_change", "tolerance_step"),
    po.optim.SSBroyden: ("tolerance_grad", "tolerance_change", "tolerance_step"),
    po.optim.LevenbergMarquardt: ("tolerance_grad", "tolerance_step", "cg_tolerance"),
    po.optim.GaussNewton: ("tolerance_grad", "tolerance_step", "cg_tolerance"),
}


@pytest.mark.parametrize("cls", list(TOLERANCES), ids=lambda c: c.__name__)
def test_tolerances_are_finite_numbers_at_least_zero(cls: type[po.optim.Phase]) -> None:
    for name in TOLERANCES[cls]:
        for bad in (-1, -1e-12, math.nan, math.inf, "x", True, None):
            with pytest.raises(po.ConfigError, match=rf"{cls.__name__}\({name}=.*finite number >= 0"):
                cls(5, **{name: bad})  # type: ignore[call-arg]
        assert getattr(cls(5, **{name: 0}), name) == 0  # type: ignore[call-arg]
        assert getattr(cls(5, **{name: 1e-3}), name) == 1e-3  # type: ignore[call-arg]


def test_a_string_tolerance_no_longer_fails_mid_run_with_a_bare_value_error() -> None:
    with pytest.raises(po.ConfigError, match=r"LBFGS\(tolerance_grad='x'\)"):
        po.optim.LBFGS(5, tolerance_grad="x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: po.optim.LevenbergMarquardt(rule="nielsen", decrease=50.0),
            r"decrease=50.0.*rule='nielsen'",
        ),
        (lambda: po.optim.LevenbergMarquardt(rule="nielsen", increase=4.0), r"increase=4.0.*rule='nielsen'"),
        (lambda: po.optim.GaussNewton(rule="nielsen"), r"GaussNewton\(rule='nielsen'\).*damping fixed"),
        (lambda: po.optim.GaussNewton(decrease=5.0), r"GaussNewton\(decrease=5.0\)"),
        (lambda: po.optim.GaussNewton(increase=5.0), r"GaussNewton\(increase=5.0\)"),
        (lambda: po.optim.GaussNewton(damping_min=1e-9), r"GaussNewton\(damping_min=1e-09\)"),
        (lambda: po.optim.GaussNewton(damping_max=1.0), r"GaussNewton\(damping_max=1.0\)"),
        (
            lambda: po.optim.LevenbergMarquardt(solver="cholesky", cg_iterations=5),
            r"cg_iterations=5.*'cholesky'",
        ),
        (
            lambda: po.optim.LevenbergMarquardt(solver="dual", cg_tolerance=1e-3),
            r"cg_tolerance=0.001.*'dual'",
        ),
        (lambda: po.optim.LevenbergMarquardt(solver="cg", chunk=64), r"chunk=64.*solver='cg'"),
        (lambda: po.optim.LevenbergMarquardt(solver="cg", max_jacobian_bytes=10), r"max_jacobian_bytes=10"),
    ],
)
def test_lm_options_its_rule_or_solver_ignores_are_refused(make: Callable[[], object], match: str) -> None:
    with pytest.raises(po.ConfigError, match=match):
        make()


def test_levenberg_marquardt_options_that_are_read_stay_accepted() -> None:
    po.optim.LevenbergMarquardt(rule="nielsen")
    po.optim.LevenbergMarquardt(rule="nielsen", decrease=3.0, increase=2.0)  # the defaults
    po.optim.LevenbergMarquardt(rule="fixed", decrease=5.0, increase=4.0, damping_min=1e-9, damping_max=1e3)
    po.optim.LevenbergMarquardt(solver="auto", cg_iterations=10, cg_tolerance=1e-3, chunk=64)
    po.optim.LevenbergMarquardt(solver="cg", cg_iterations=10)
    po.optim.LevenbergMarquardt(solver="cholesky", chunk=64, max_jacobian_bytes=10**6)
    po.optim.GaussNewton(damping=1e-6, scaling="identity", max_tries=5)


def test_damping_bounds_must_leave_room() -> None:
    for lo, hi in [(1.0, 1e-3), (1.0, 1.0)]:
        with pytest.raises(
            po.ConfigError, match=rf"damping_min={lo}, damping_max={hi}.*damping_min < damping_max"
        ):
            po.optim.LevenbergMarquardt(damping_min=lo, damping_max=hi)


def _adam_config(batch: po.optim.Batching, **kw: object) -> tuple[dict[str, object], list[float]]:
    result = po.solve(
        ode_problem(), phases=[po.optim.Adam(3, lr=1e-3)], batch=batch, log_every=1, **SOLVE, **kw
    )
    assert result.config["collocation"]["interior"] == 64
    return result.config["learning_rates"][0], list(result.history.lr)


def test_minibatch_no_smaller_than_the_sets_is_warned_and_scales_by_the_points_drawn() -> None:
    with pytest.warns(
        po.PinnoptWarning, match=r"MiniBatch\(1000\).*interior 64.*FullBatch\(\).*x2\b.*not by 1000"
    ):
        entry, lrs = _adam_config(po.optim.MiniBatch(1000, scale_lr=True))
    assert entry["batch_drawn"] == 64 and entry["batch_lr_factor"] == 2.0  # 64 / 32, not 1000 / 32
    assert entry["effective_lr"] == pytest.approx(2e-3) and lrs == pytest.approx([2e-3] * 3)
    assert "MiniBatch(1000)" in str(entry["batch_note"])
    with pytest.warns(po.PinnoptWarning, match=r"MiniBatch\(64\) is at least"):  # exactly the largest set
        entry, lrs = _adam_config(po.optim.MiniBatch(64))
    assert entry["batch_lr_factor"] == 1.0 and "scale_lr" not in str(entry["batch_note"])


def test_minibatch_subset_counts_the_points_kept() -> None:
    with pytest.warns(po.PinnoptWarning, match=r"subset=0.5 keeps 32.*FullBatch\(subset=0.5\)"):
        entry, lrs = _adam_config(po.optim.MiniBatch(40, subset=0.5, scale_lr=True))
    assert entry["batch_drawn"] == 32 and entry["batch_lr_factor"] == 1.0 and lrs == pytest.approx([1e-3] * 3)


def test_minibatch_smaller_than_the_sets_keeps_its_size_and_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", po.PinnoptWarning)
        entry, lrs = _adam_config(po.optim.MiniBatch(8, scale_lr=True))
    assert entry["batch_drawn"] == 8 and entry["batch_lr_factor"] == 0.25 and "batch_note" not in entry
    assert lrs == pytest.approx([2.5e-4] * 3)
    mb = po.optim.MiniBatch(50, scale_lr=True)
    assert mb.drawn([64, 4]) == 50 and mb.drawn([30, 4]) == 30 and mb.drawn() == 50
    assert mb.lr_factor([30, 4]) == 30 / 32 and mb.lr_factor() == 50 / 32


def test_trainer_warns_once_per_oversized_batching_and_scales_by_the_drawn_size() -> None:
    _, model, points, objective = setup()  # interior 64, boundary 1
    big = po.optim.MiniBatch(500, scale_lr=True)
    phases = [
        po.optim.Adam(2, lr=0.01, batch=big),
        po.optim.SGD(2, lr=0.01, batch=big),
        po.optim.Adam(2, lr=0.01),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = Trainer(model, objective, points, phases, log_every=1).run()
    notes = [w for w in caught if issubclass(w.category, po.PinnoptWarning)]
    assert len(notes) == 1 and "MiniBatch(500)" in str(notes[0].message)
    assert list(out.history.lr) == pytest.approx([0.02] * 4 + [0.01] * 2)
