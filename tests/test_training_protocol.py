"""The training protocol: hooks and callbacks see a read-only view and return updates."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

import pinnopt as po
from pinnopt.losses import PointSet
from pinnopt.train import TrainingHook, TrainingUpdate, TrainingView

from .train_helpers import setup


class _Mutator(TrainingHook):
    """Tries to write into the view; remembers what each attempt raised."""

    def __init__(self) -> None:
        self.errors: list[type[BaseException]] = []

    def on_step(self, view: TrainingView) -> None:
        if view.step != 1:
            return
        for attempt in (
            lambda: setattr(view, "step", 99),
            lambda: setattr(view, "points", {}),
            lambda: view.points.__setitem__("interior", view.points["interior"]),
            lambda: view.points.pop("interior"),  # type: ignore[attr-defined]
        ):
            try:
                attempt()
            except (AttributeError, TypeError) as exc:
                self.errors.append(type(exc))


def test_a_hook_cannot_mutate_the_view() -> None:
    _, model, points, objective = setup()
    hook = _Mutator()
    trainer = po.train.Trainer(model, objective, points, [po.optim.Adam(3)], hooks=[hook], log_every=1)
    before = trainer.points["interior"]
    outcome = trainer.run()
    assert len(hook.errors) == 4  # every write was refused
    assert issubclass(hook.errors[0], dataclasses.FrozenInstanceError)
    assert trainer.points["interior"] is before and outcome.steps == 3


class _Updater(TrainingHook):
    """Returns an update at step 2: new points, new weights, a history record, a new scalar."""

    def __init__(self) -> None:
        self.seen_weights: dict[int, torch.Tensor] = {}
        self.seen_points: dict[int, int] = {}

    def on_step(self, view: TrainingView) -> TrainingUpdate | None:
        self.seen_weights[view.step] = view.weights()
        self.seen_points[view.step] = len(view.points["interior"])
        assert view.losses is not None and view.losses.shape == (len(view.names),)
        assert not view.losses.requires_grad
        if view.step != 2:
            return None
        ps = view.points["interior"]
        half = PointSet(ps.name, ps.x[: len(ps) // 2], {k: v[: len(ps) // 2] for k, v in ps.data.items()})
        w = view.weights() * 3.0
        return TrainingUpdate(
            points={"interior": half},
            weights=w,
            records=[("probe", view.step, torch.tensor([7.0]), ["seven"])],
            objective_changed=True,
        )


def test_an_update_returned_by_a_hook_is_applied() -> None:
    _, model, points, objective = setup()
    hook = _Updater()
    weights0 = objective.weights.clone()
    trainer = po.train.Trainer(model, objective, points, [po.optim.Adam(4)], hooks=[hook], log_every=1)
    n = len(trainer.points["interior"])
    outcome = trainer.run()
    assert hook.seen_points[2] == n and hook.seen_points[3] == n // 2  # seen by the next step
    assert len(trainer.points["interior"]) == n // 2
    torch.testing.assert_close(hook.seen_weights[3], weights0 * 3.0)
    torch.testing.assert_close(objective.weights, weights0 * 3.0)
    steps, values = outcome.history.series("probe")
    assert list(steps) == [2] and values[0, 0] == 7.0


def test_a_callback_update_sets_scalars_and_a_bad_update_is_refused() -> None:
    _, model, points, objective = setup()

    def bad(view: TrainingView, step: int) -> Any:
        return {"weights": 1}

    with pytest.raises(po.ConfigError, match="TrainingUpdate"):
        po.train.Trainer(model, objective, points, [po.optim.Adam(2)], callbacks=[bad]).run()

    def unknown(view: TrainingView, step: int) -> TrainingUpdate:
        return TrainingUpdate(scalars={"nope": torch.tensor(1.0)})

    with pytest.raises(po.ConfigError, match="nope"):
        po.train.Trainer(model, objective, points, [po.optim.Adam(2)], callbacks=[unknown]).run()


class _Counter(TrainingHook):
    """Counts its calls and draws from its own generator; both are checkpointed."""

    def __init__(self) -> None:
        self.calls = 0
        self.gen = torch.Generator().manual_seed(11)
        self.draws: list[float] = []
        self.loaded: dict[str, Any] | None = None

    def on_step(self, view: TrainingView) -> None:
        self.calls += 1
        self.draws.append(float(torch.rand((), generator=self.gen)))

    def state_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "gen": self.gen.get_state(), "draws": torch.tensor(self.draws)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loaded = state
        self.calls = int(state["calls"])
        self.gen.set_state(state["gen"])
        self.draws = [float(v) for v in state["draws"]]


def test_a_hook_state_round_trips_through_a_checkpoint(tmp_path) -> None:
    _, model, points, objective = setup()
    full = _Counter()
    po.train.Trainer(model, objective, points, [po.optim.Adam(10)], hooks=[full], log_every=5).run()

    _, model, points, objective = setup()
    first = _Counter()

    def stop_at_6(view: TrainingView, step: int) -> None:
        if step == 6:
            raise KeyboardInterrupt

    trainer = po.train.Trainer(
        model,
        objective,
        points,
        [po.optim.Adam(10)],
        hooks=[first],
        callbacks=[stop_at_6],
        checkpoint=po.callbacks.Checkpoint(tmp_path, every=4),
        log_every=5,
    )
    assert trainer.run().reason is po.stop.StopReason.INTERRUPTED
    _, model, points, objective = setup()
    second = _Counter()
    resumed = po.train.Trainer(
        model,
        objective,
        points,
        [po.optim.Adam(10)],
        hooks=[second],
        checkpoint=po.callbacks.Checkpoint(tmp_path, every=4),
        log_every=5,
    )
    resumed.load_checkpoint(tmp_path)
    assert second.loaded is not None and second.loaded["calls"] == 6  # the interrupt checkpoint
    resumed.run()
    assert second.calls == full.calls == 10
    assert second.draws == full.draws  # the hook's generator continued exactly
