"""Checkpoints and resume (bit-for-bit), Ctrl-C, and the divergence guard."""

from __future__ import annotations

import os
import re
import signal

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt.losses import PointSet
from pinnopt.train import checkpoint as ckpt

from .train_helpers import SOLVE, ode_problem

PHASES = [
    po.optim.Adam(
        40, lr=2e-2, batch=po.optim.MiniBatch(16, subset=0.75), schedule=po.optim.ReduceOnPlateau(patience=2)
    ),
    po.optim.LBFGS(30, history_size=10),
]
KW = {"phases": PHASES, "log_every": 7, **SOLVE}


class Resample(po.train.TrainingHook):
    """A stateful hook that redraws the interior points every 15 steps (like an adaptive sampler)."""

    def __init__(self) -> None:
        self.draws = 0

    def on_step(self, view: po.train.TrainingView) -> po.train.TrainingUpdate | None:
        if view.step % 15 == 0 and view.step <= 40:
            self.draws += 1
            ps = view.points["interior"]
            x = torch.rand(ps.x.shape, dtype=ps.x.dtype)  # the global RNG: checkpointed too
            return po.train.TrainingUpdate(points={"interior": PointSet(ps.name, x, {})})
        return None

    def state_dict(self) -> dict[str, int]:
        return {"draws": self.draws}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.draws = int(state["draws"])


def _solve(callbacks: tuple = (), **kw: object) -> po.Result:
    return po.solve(
        ode_problem(),
        callbacks=[Resample(), *callbacks],
        stop=po.stop.EarlyStopping(patience=1000),
        **KW,
        **kw,
    )


def _interrupt_at(k: int):
    def cb(trainer: po.train.Trainer, step: int) -> None:
        if step == k:
            raise KeyboardInterrupt

    return cb


@pytest.fixture(scope="module")
def uninterrupted() -> po.Result:
    return _solve()


@pytest.mark.parametrize("k", [23, 40, 55])  # mini-batch Adam mid-epoch, the phase boundary, inside L-BFGS
def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(
    uninterrupted: po.Result, tmp_path, k: int
) -> None:
    first = _solve(callbacks=[_interrupt_at(k)], checkpoint=po.callbacks.Checkpoint(tmp_path, every=1000))
    assert first.stop_reason is po.stop.StopReason.INTERRUPTED and first.steps == k
    assert [p.name.rsplit("-", 1)[0] for p in ckpt.checkpoints_in(tmp_path)] == [f"step-{k:09d}"]
    resumed = _solve(resume=tmp_path)
    assert resumed.steps == uninterrupted.steps == 70
    for a, b in zip(
        uninterrupted.model.state_dict().values(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(resumed.history.loss, uninterrupted.history.loss)
    assert resumed.history.step == uninterrupted.history.step
    assert [(o.name, o.steps, o.reason) for o in resumed.outcome.phases] == [
        (o.name, o.steps, o.reason) for o in uninterrupted.outcome.phases
    ]


def test_periodic_checkpoints_are_safe_atomic_files(uninterrupted: po.Result, tmp_path) -> None:
    result = _solve(checkpoint=po.callbacks.Checkpoint(tmp_path, every=10, keep=2))
    files = ckpt.checkpoints_in(tmp_path)
    assert [f.name.rsplit("-", 1)[0] for f in files] == ["step-000000060", "step-000000070"]
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    payload = torch.load(files[0], weights_only=True)  # plain data only
    assert payload["format"] == ckpt.FORMAT and payload["meta"]["step"] == 60
    assert set(payload["state"]) >= {"model", "optimizer", "rng", "points", "hooks", "objective", "stop"}
    assert len(payload["state"]["optimizer"]["s"]) <= 10  # the L-BFGS memory is in it
    resumed = _solve(resume=files[0])  # a periodic checkpoint resumes exactly too
    for a, b in zip(result.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_resume_errors_name_the_problem(tmp_path) -> None:
    with pytest.raises(po.CheckpointError, match="no step"):
        _solve(resume=tmp_path)
    junk = tmp_path / "step-000000001.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(po.CheckpointError, match="not a readable"):
        _solve(resume=junk)
    _solve(callbacks=[_interrupt_at(5)], checkpoint=po.callbacks.Checkpoint(tmp_path / "c"))
    with pytest.raises(po.CheckpointError, match="phases"):
        po.solve(ode_problem(), phases=[po.optim.Adam(5)], resume=tmp_path / "c", **SOLVE)


def test_sigint_returns_a_result_and_a_checkpoint(tmp_path) -> None:
    def press_ctrl_c(trainer: po.train.Trainer, step: int) -> None:
        if step == 12:
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in the background
    result = po.solve(
        ode_problem(),
        phases=[po.optim.Adam(100, lr=1e-2)],
        callbacks=[press_ctrl_c],
        checkpoint=tmp_path,
        **SOLVE,
    )
    assert result.stop_reason is po.stop.StopReason.INTERRUPTED and result.steps == 12
    assert result.outcome.phases[0].reason is po.stop.StopReason.INTERRUPTED
    assert ckpt.checkpoints_in(tmp_path)[-1].name.startswith("step-000000012-")
    assert signal.getsignal(signal.SIGINT) is before  # handler restored


def test_nan_injection_recovers_and_checkpoints_stay_finite(tmp_path) -> None:
    injected: list[int] = []

    def inject(view: po.train.TrainingView, step: int) -> po.train.TrainingUpdate | None:
        if step == 30 and not injected:  # poison the points once: loss, gradients, parameters go NaN
            injected.append(step)
            ps = view.points["interior"]
            return po.train.TrainingUpdate(
                points={"interior": PointSet(ps.name, torch.full_like(ps.x, float("nan")), ps.data)}
            )
        return None

    result = po.solve(
        ode_problem(),
        phases=[po.optim.Adam(80, lr=2e-2), po.optim.LBFGS(20)],
        callbacks=[inject],
        checkpoint=po.callbacks.Checkpoint(tmp_path, every=3, keep=0),
        log_every=7,
        **SOLVE,
    )
    assert result.stop_reason is po.stop.StopReason.STEP_BUDGET and result.steps == 100
    assert result.outcome.retries == 1
    h = result.history.as_arrays()
    assert np.isfinite(h["loss"]).all() and list(h["step"]) == list(range(1, 101))
    assert h["lr"][27] == 2e-2 and h["lr"][28] == 1e-2  # restored at step 28, then half the rate
    assert result.validate().rel_l2["u"] < 0.05
    files = ckpt.checkpoints_in(tmp_path)
    assert len(files) == 100 // 3  # the poisoned steps 31-34 were skipped, then rewritten after the restore
    for f in files:
        state = ckpt.load(f)["state"]
        assert not ckpt.has_nonfinite(state["model"]) and not ckpt.has_nonfinite(state["optimizer"])


def test_guard_gives_up_after_its_retries() -> None:
    result = po.solve(
        ode_problem(),
        phases=[po.optim.SGD(200, lr=1e6)],
        runtime=po.Runtime(guard=po.optim.DivergenceGuard(max_retries=2, factor=0.5)),
        log_every=10,
        **SOLVE,
    )
    assert result.stop_reason is po.stop.StopReason.DIVERGED and result.outcome.retries == 3
    assert "gave up after 2 retries" in result.outcome.stop_detail
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    with pytest.raises(po.ConfigError, match="factor"):
        po.optim.DivergenceGuard(factor=1.5)


def test_resume_with_a_larger_budget_extends_the_phase(tmp_path) -> None:
    kw = {"log_every": 5, **SOLVE}
    po.solve(
        ode_problem(),
        phases=[po.optim.Adam(20, lr=1e-2)],
        checkpoint=po.callbacks.Checkpoint(tmp_path, every=10),
        **kw,
    )
    more = po.solve(ode_problem(), phases=[po.optim.Adam(35, lr=1e-2)], resume=tmp_path, **kw)
    assert more.steps == 35 and more.history.step == list(range(1, 36))
    assert more.config["resumed_from"] == str(tmp_path)


def _occupy(folder, step: int):
    """A callback that replaces the (empty) checkpoint folder by a file at ``step``."""

    def cb(trainer: po.train.Trainer, k: int) -> None:
        if k == step:
            os.rmdir(folder)
            folder.write_text("in the way")

    return cb


@pytest.mark.parametrize(
    ("under", "reason"),
    [("", "a file of that name exists; expected a folder"), ("ck", "notes.txt is a file; expected a folder")],
)
def test_an_unwritable_checkpoint_folder_is_refused_before_the_first_step(
    tmp_path, under: str, reason: str
) -> None:
    (tmp_path / "notes.txt").write_text("a file")
    folder = tmp_path / "notes.txt" / under if under else tmp_path / "notes.txt"
    steps: list[int] = []
    message = re.escape(f"checkpoint folder {folder} is not writable (") + f".*{re.escape(reason)}"
    with pytest.raises(po.ConfigError, match=message):
        _solve(callbacks=[lambda trainer, k: steps.append(k)], checkpoint=po.callbacks.Checkpoint(folder))
    assert steps == []  # refused before any training (audit 15, gap 5)


def test_a_checkpoint_write_failing_mid_run_is_named_and_an_interrupt_keeps_its_result(tmp_path) -> None:
    folder = tmp_path / "ck"
    with pytest.raises(
        po.CheckpointError, match=rf"cannot write step-000000010-\w+\.pt in folder {re.escape(str(folder))}"
    ):
        _solve(callbacks=[_occupy(folder, 5)], checkpoint=po.callbacks.Checkpoint(folder, every=10))
    folder.unlink()
    # Ctrl-C writes a checkpoint too: when that fails the interrupted run is still returned
    result = _solve(
        callbacks=[_occupy(folder, 5), _interrupt_at(7)], checkpoint=po.callbacks.Checkpoint(folder, every=10)
    )
    assert result.stop_reason is po.stop.StopReason.INTERRUPTED and result.steps == 7
    assert (
        "checkpoint on interrupt was not written: cannot write step-000000007" in result.outcome.stop_detail
    )
    with pytest.raises(
        po.CheckpointError, match=rf"cannot write model\.pt in folder {re.escape(str(folder))}"
    ):
        result.save(folder / "model.pt")
