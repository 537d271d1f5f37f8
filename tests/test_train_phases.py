"""Optimizer phases, batching, learning-rate schedules, clipping, callbacks and bagging."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt.losses import PointSet
from pinnopt.train import Trainer
from pinnopt.train.batching import BatchStream

from .train_helpers import SOLVE, full_loss, ode_problem, setup

COMBINATIONS = {
    "batch_gd": [po.optim.SGD(300, lr=0.05)],
    "sgd_one_point": [
        po.optim.SGD(
            256, lr=0.05, batch=po.optim.MiniBatch(1), schedule=po.optim.ExponentialDecay(0.1, every=256)
        )
    ],
    "minibatch_gd": [po.optim.SGD(300, lr=0.1, batch=po.optim.MiniBatch(16))],
    "momentum": [po.optim.Momentum(150, lr=0.05)],
    "nesterov": [po.optim.Momentum(150, lr=0.02, nesterov=True)],
    "adam": [po.optim.Adam(200, lr=2e-2)],
    "adamw": [po.optim.AdamW(200, lr=2e-2, weight_decay=1e-4)],
    "adam_minibatch_subset": [po.optim.Adam(200, lr=2e-2, batch=po.optim.MiniBatch(16, subset=0.5))],
    "lbfgs": [po.optim.LBFGS(40)],
    "adam_then_lbfgs": [po.optim.Adam(100, lr=2e-2), po.optim.LBFGS(30)],
    "sgd_then_adam_then_lbfgs": [po.optim.SGD(50, lr=0.1), po.optim.Adam(50, lr=1e-2), po.optim.LBFGS(20)],
}


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_every_phase_combination_lowers_the_full_loss_100x(name: str) -> None:
    _, model, points, objective = setup()
    before = full_loss(model, objective, points)
    phases = COMBINATIONS[name]
    outcome = Trainer(model, objective, points, phases, log_every=50).run()
    after = full_loss(model, objective, points)
    assert after < before / 100, (name, before, after)
    h = outcome.history.as_arrays()
    assert list(h["step"]) == list(range(1, outcome.steps + 1))  # one counter, no gaps
    assert list(np.unique(h["phase"])) == list(range(len(phases)))
    assert np.all(np.diff(h["time"]) >= 0) and np.all(np.diff(h["epoch"]) >= 0)
    assert [o.name for o in outcome.phases] == [p.name for p in phases]


def test_minibatch_draws_b_points_from_each_set_and_an_epoch_covers_the_largest() -> None:
    g = torch.Generator().manual_seed(0)
    big = PointSet("big", torch.arange(10.0)[:, None], {"w": torch.arange(10.0) * 10})
    small = PointSet("small", torch.arange(3.0)[:, None] + 100)
    pts = {"big": big, "small": small, "other": small}
    stream = BatchStream(po.optim.MiniBatch(4), ["big", "small"], g)
    seen: list[torch.Tensor] = []
    for i in range(3):  # ceil(10 / 4) = 3 updates per epoch
        batch = stream.next(pts)
        assert len(batch["big"]) == 4 and len(batch["small"]) == 3  # b, or the whole set if smaller
        assert torch.equal(batch["big"].data["w"], batch["big"].x[:, 0] * 10)  # data travels along
        assert batch["other"] is small  # sets without terms pass through
        assert stream.epoch_done == (i == 2)
        seen.append(batch["big"].x[:, 0])
    assert set(torch.cat(seen).tolist()) == set(range(10))  # one pass covers every point
    stream.next(pts)
    assert stream.pos == 1 and stream.length == 3  # a new epoch started


def test_subset_batches_come_from_one_random_subset_per_epoch() -> None:
    g = torch.Generator().manual_seed(1)
    pts = {"a": PointSet("a", torch.arange(100.0)[:, None])}
    stream = BatchStream(po.optim.MiniBatch(10, subset=0.3), ["a"], g)
    epoch = [stream.next(pts)["a"].x[:, 0] for _ in range(3)]  # 30 points -> 3 updates
    assert stream.epoch_done
    assert len(set(torch.cat(epoch).tolist())) == 30
    full = BatchStream(po.optim.FullBatch(subset=0.25), ["a"], g)
    assert len(full.next(pts)["a"]) == 25 and full.epoch_done


def test_epochs_replace_steps_and_callbacks_see_step_and_epoch_ends() -> None:
    _, model, points, objective = setup(interior=64)
    events: list[tuple[str, int]] = []

    class Spy(po.callbacks.Callback):
        def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
            events.append(("epoch", epoch))

        def on_phase_end(self, trainer: Trainer, phase: int, outcome: object) -> None:
            events.append(("phase", phase))

    steps: list[int] = []
    phases = [po.optim.Adam(lr=1e-2, epochs=3, batch=po.optim.MiniBatch(16)), po.optim.Adam(5, lr=1e-3)]
    outcome = Trainer(
        model, objective, points, phases, log_every=100, callbacks=[Spy(), lambda tr, s: steps.append(s)]
    ).run()
    assert outcome.phases[0].steps == 3 * 4  # 64 points / 16 per update = 4 updates per epoch
    assert steps == list(range(1, 18))
    assert [e for e in events if e[0] == "epoch"] == [("epoch", i) for i in range(1, 9)]  # 3 + 5 full-batch
    assert events[3] == ("phase", 0) and events[-1] == ("phase", 1)
    assert list(outcome.history.epoch[:12]) == [1] * 4 + [2] * 4 + [3] * 4


def test_schedules_are_applied_step_by_step() -> None:
    assert [po.optim.StepDecay(2, 0.5).multiplier(t, 10, {}) for t in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert po.optim.ExponentialDecay(0.1, every=10).multiplier(5, 100, {}) == pytest.approx(0.1**0.5)
    assert po.optim.ExponentialDecay(0.1, every=10, staircase=True).multiplier(15, 100, {}) == pytest.approx(
        0.1
    )
    cos = po.optim.CosineDecay(min_factor=0.1)
    assert cos.multiplier(0, 10, {}) == 1 and cos.multiplier(10, 10, {}) == pytest.approx(0.1)
    warm = po.optim.Warmup(4, then=po.optim.StepDecay(2, 0.5))
    assert [warm.multiplier(t, 10, {}) for t in range(8)] == [0.25, 0.5, 0.75, 1, 1, 1, 0.5, 0.5]
    _, model, points, objective = setup()
    phase = po.optim.Adam(20, lr=0.1, schedule=po.optim.Warmup(5, then=po.optim.CosineDecay()))
    out = Trainer(model, objective, points, [phase], log_every=7).run()
    expected = [0.1 * phase.schedule.multiplier(t, 20, {}) for t in range(20)]
    np.testing.assert_allclose(out.history.lr, expected)


def test_reduce_on_plateau_cuts_the_rate_after_patience_epochs() -> None:
    plateau = po.optim.ReduceOnPlateau(factor=0.5, patience=2, threshold=0.0)
    state = plateau.init_state()
    factors = []
    for cost in [5, 4, 4, 4, 4, 4, 3]:
        plateau.observe(state, cost)
        factors.append(plateau.multiplier(0, 1, state))
    assert factors == [1, 1, 1, 0.5, 0.5, 0.25, 0.25]
    _, model, points, objective = setup()
    phase = po.optim.SGD(
        40, lr=1e-9, schedule=po.optim.ReduceOnPlateau(factor=0.1, patience=3, threshold=0.5)
    )
    out = Trainer(model, objective, points, [phase], log_every=4).run()
    assert out.history.lr[0] == 1e-9 and out.history.lr[-1] < 1e-9  # a plateau: the rate was cut


@pytest.mark.parametrize(
    ("batch", "phases", "why"),
    [
        (
            po.optim.MiniBatch(16, scale_lr=True),
            [po.optim.LBFGS(2)],
            "phase 0 (LBFGS) always uses the full batch",
        ),
        (
            po.optim.FullBatch(subset=0.5),
            [po.optim.GaussNewton(2)],
            "phase 0 (GaussNewton) always uses the full",
        ),
        (
            po.optim.MiniBatch(16),
            [po.optim.Adam(2, batch=po.optim.FullBatch()), po.optim.SSBFGS(2)],
            "phase 0 (Adam) has its own batch=FullBatch(subset=None); phase 1 (SSBFGS) always",
        ),
    ],
    ids=["lbfgs", "gauss_newton", "own_batch"],
)
def test_a_batch_no_phase_uses_is_refused_by_name(batch: po.optim.Batching, phases: list, why: str) -> None:
    with pytest.raises(po.ConfigError, match=r"^batch=.*no phase of this run uses it") as info:
        po.solve(ode_problem(), phases=phases, batch=batch, **SOLVE)
    assert why in str(info.value)
    _, model, points, objective = setup()
    with pytest.raises(po.ConfigError, match="no phase of this run uses it"):
        Trainer(model, objective, points, phases, batch=batch)


def test_a_batch_some_phases_use_is_recorded_with_them() -> None:
    batch = po.optim.MiniBatch(16)
    result = po.solve(ode_problem(), phases=[po.optim.Adam(2), po.optim.LBFGS(2)], batch=batch, **SOLVE)
    assert result.config["batch"]["kind"] == "mini" and result.config["batch_used_by"] == ["phase 0 (Adam)"]
    assert f"batch={batch!r} applies to phase 0 (Adam), not to phase 1 (LBFGS)" in result.config["notes"]
    plain = po.solve(ode_problem(), phases=[po.optim.LBFGS(2)], batch=po.optim.FullBatch(), **SOLVE)
    assert "batch_used_by" not in plain.config and "notes" not in plain.config


def test_batch_size_scaling_and_clipping_are_recorded() -> None:
    result = po.solve(
        ode_problem(),
        phases=[
            po.optim.Adam(30, lr=1e-3, batch=po.optim.MiniBatch(8, scale_lr=True), clip_norm=0.5),
            po.optim.LBFGS(5),
        ],
        **SOLVE,
    )
    lrs = result.config["learning_rates"]
    assert lrs[0]["effective_lr"] == pytest.approx(1e-3 * 8 / 32) and lrs[0]["batch_lr_factor"] == 0.25
    assert lrs[0]["clip_norm"] == 0.5 and lrs[1]["batch"]["kind"] == "full"
    assert result.history.lr[0] == pytest.approx(2.5e-4)
    # the clipped gradient norm never exceeds clip_norm: one step moves parameters little
    _, model, points, objective = setup()
    before = [p.detach().clone() for p in model.parameters()]
    Trainer(model, objective, points, [po.optim.SGD(1, lr=1.0, clip_norm=1e-3)]).run()
    moved = math.sqrt(
        sum(float((p.detach() - b).pow(2).sum()) for p, b in zip(model.parameters(), before, strict=True))
    )
    assert moved <= 1e-3 * (1 + 1e-9)


def test_lbfgs_refuses_mini_batches_and_bad_options_are_named() -> None:
    with pytest.raises(po.ConfigError, match="full batch"):
        po.optim.LBFGS(batch=po.optim.MiniBatch(32))
    with pytest.raises(po.ConfigError, match="size"):
        po.optim.MiniBatch(0)
    with pytest.raises(po.ConfigError, match="subset"):
        po.optim.MiniBatch(8, subset=1.5)
    with pytest.raises(po.ConfigError, match="clip_norm"):
        po.optim.Adam(clip_norm=-1.0)
    with pytest.raises(po.ConfigError, match="schedule"):
        po.optim.Adam(schedule="cosine")  # type: ignore[arg-type]
    with pytest.raises(po.ConfigError, match="momentum"):
        po.optim.SGD(nesterov=True)
    with pytest.raises(po.ConfigError, match="gamma"):
        po.optim.StepDecay(10, gamma=2.0)
    with pytest.raises(po.ConfigError, match="patience"):
        po.optim.ReduceOnPlateau(patience=0)
    with pytest.raises(po.ConfigError, match="batch"):
        po.solve(ode_problem(), batch="mini")  # type: ignore[arg-type]
    with pytest.raises(po.ConfigError, match="log_every"):
        po.solve(ode_problem(), log_every=0)
    with pytest.raises(po.ConfigError, match=r"MPS|mps"):
        po.solve(ode_problem(), runtime=po.Runtime(device="mps"))


def test_bagging_reports_a_spread_that_covers_the_error() -> None:
    bag = po.workflows.bagging(ode_problem(), k=3, subset=0.7, phases=[po.optim.Adam(150, lr=2e-2)], **SOLVE)
    assert bag.k == 3 and all(s["interior"] == 45 for s in bag.subsets)
    pts = np.linspace(0, 1, 21)
    mean, spread = bag.predict_with_spread(pts)
    members = bag.predict_members(pts)["u"]
    np.testing.assert_allclose(mean["u"], members.mean(axis=0))
    assert spread["u"].shape == (21,) and np.all(spread["u"] > 0)  # members differ
    assert bag.validate().rel_l2["u"] < 0.2
    unc = bag.uncertainty()["u"]
    assert 0 < unc["mean_spread"] <= unc["max_spread"] and 0 <= unc["coverage_2sd"] <= 1
    with pytest.raises(po.ConfigError, match="k"):
        po.workflows.bagging(ode_problem(), k=1)


def test_no_host_synchronization_between_check_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between check points pinnopt's own code never reads a tensor value on the host."""
    import os
    import sys

    armed: list[bool] = [False]
    marker = f"{os.sep}pinnopt{os.sep}"

    def guard(name: str):
        original = getattr(torch.Tensor, name)

        def wrapper(self: torch.Tensor, *args: object, **kwargs: object) -> object:
            if armed[0] and marker in sys._getframe(1).f_code.co_filename:
                raise AssertionError(f"host synchronization via Tensor.{name} inside a step")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)

    for name in ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__array__"):
        guard(name)

    def arm(trainer: Trainer, step: int) -> None:
        armed[0] = 2 <= step < 29 or 31 <= step < 59  # not at the check points (steps 30 and 60)

    _, model, points, objective = setup()
    phases = [
        po.optim.Adam(30, lr=1e-2, clip_norm=1.0, schedule=po.optim.CosineDecay()),
        po.optim.SGD(
            30, lr=1e-2, batch=po.optim.MiniBatch(4, subset=0.5)
        ),  # 8 steps per epoch: check every 4 epochs
    ]
    Trainer(
        model, objective, points, phases, log_every=30, callbacks=[arm], stop=po.stop.MaxSteps(10_000)
    ).run()
    armed[0] = False


def test_progress_off_a_terminal_is_lines_or_nothing() -> None:
    from pinnopt.train.progress import Progress

    # pytest captures stderr: not a terminal (tests/test_progress.py checks the lines themselves)
    assert Progress(None, 10, ["a"]).mode == "off"  # None: a bar on a terminal, nothing elsewhere
    assert Progress(True, 10, ["a"]).mode == "lines"
    assert Progress(False, 10, ["a"]).mode == "off"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_run_stays_on_the_device_without_synchronizing_inside_steps(dtype: str) -> None:
    devices: set[str] = set()

    def watch(view: po.train.TrainingView, step: int) -> None:
        devices.update(ps.x.device.type for ps in view.points.values())
        devices.update(view.device.type for _ in (0,))
        # steps 3..28 of the Adam phase run with synchronizations turned into errors
        torch.cuda.set_sync_debug_mode("error" if 2 <= step < 28 else "default")

    try:
        result = po.solve(
            ode_problem(),
            runtime=po.Runtime(device="cuda"),
            dtype=dtype,
            phases=[
                po.optim.Adam(30, lr=1e-2, batch=po.optim.MiniBatch(16), clip_norm=1.0),
                po.optim.LBFGS(5),
            ],
            callbacks=[watch],
            log_every=100,
            **SOLVE,
        )
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert devices == {"cuda"} and result.device.type == "cuda"
    assert result.history.loss[-1] < result.history.loss[0]
