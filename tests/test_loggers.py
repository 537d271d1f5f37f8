"""Loggers as callbacks: one record per check point, to CSV or TensorBoard."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po

QUIET = po.Runtime(progress=False)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _inverse() -> po.Problem:
    x, k = sp.symbols("x k")
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - k * sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u), po.On(sp.Eq(x, 1), u.diff(x) + sp.pi)],
        parameters=[po.Parameter(k, init=0.5)],
        name="inv",
    )


def _solve(problem: po.Problem, callbacks: list[object], **kw: object) -> po.Result:
    return po.solve(
        problem,
        model=po.nn.MLP(width=6, depth=1),
        collocation=po.Collocation(interior=24, boundary=1),
        phases=[po.optim.Adam(steps=12, lr=1e-2), po.optim.LBFGS(steps=4)],
        log_every=4,
        callbacks=callbacks,
        runtime=QUIET,
        **kw,
    )


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_logger_writes_one_row_per_check_point(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "log.csv"
    result = _solve(
        _inverse(), [po.CSVLogger(path)], checkpoint=po.callbacks.Checkpoint(tmp_path / "ck", every=3)
    )
    rows = _read(path)
    hist = result.history
    assert hist is not None
    # check points every 4 steps (periodic checkpoints every 3 steps add no rows); L-BFGS may stop early
    assert [int(r["step"]) for r in rows][:3] == [4, 8, 12]
    assert all(int(r["step"]) % 4 == 0 or int(r["step"]) == result.steps for r in rows)
    assert int(rows[-1]["step"]) == result.steps
    assert [r["phase"] for r in rows][:3] == ["Adam"] * 3 and rows[-1]["phase"] == "LBFGS"
    header = list(rows[0])
    assert header[:3] == ["step", "phase", "loss"] and header[-3:] == ["lr", "time", "param/k"]
    assert [h for h in header if h.startswith("term/")] == [f"term/{n}" for n in hist.term_names]
    for r in rows:  # the values are the history's at that step
        i = int(r["step"]) - 1
        assert float(r["loss"]) == pytest.approx(hist.loss[i], rel=1e-12)
        for n in hist.term_names:
            assert float(r[f"term/{n}"]) == pytest.approx(hist.terms[n][i], rel=1e-12)
    assert float(rows[0]["lr"]) == pytest.approx(1e-2)
    assert float(rows[-1]["param/k"]) == pytest.approx(result.parameters["k"], rel=1e-12)
    times = [float(r["time"]) for r in rows]
    assert times == sorted(times) and times[0] > 0


def test_a_march_logs_its_windows_with_continued_steps_and_a_widened_header(tmp_path: Path) -> None:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - 0.1 * u.diff(x, 2)],
        conditions=[po.On(sp.Eq(t, 0), u - sp.sin(sp.pi * x)), po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u)],
        name="heat",
    )
    path = tmp_path / "march.csv"
    po.march(
        problem,
        po.Marching(windows=2),
        model=po.nn.MLP(width=6, depth=1),
        collocation=po.Collocation(interior=32, boundary=8),
        phases=[po.optim.Adam(steps=8)],
        log_every=4,
        runtime=QUIET,
        callbacks=[po.CSVLogger(path)],
    )
    rows = _read(path)
    assert [int(r["step"]) for r in rows] == [4, 8, 12, 16]
    assert rows[0]["term/continuity_u"] == "" and rows[-1]["term/continuity_u"] != ""
    assert rows[0]["term/t=0"] != "" and rows[-1]["term/t=0"] == ""


def test_tensorboard_logger_writes_scalars(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = po.TensorBoardLogger(tmp_path / "tb")
    assert po.callbacks.TensorBoardLogger is po.TensorBoardLogger
    result = _solve(_inverse(), [logger])
    logger.close()
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss", "lr", "param/k"} <= tags and {f"term/{n}" for n in result.history.term_names} <= tags
    loss = events.Scalars("loss")
    assert [e.step for e in loss][:3] == [4, 8, 12]
    assert loss[-1].step == result.steps
    assert np.isclose(loss[0].value, result.history.loss[3], rtol=1e-6)


def test_tensorboard_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins

    real = builtins.__import__

    def no_tensorboard(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("torch.utils.tensorboard") or name == "tensorboard":
            raise ImportError("No module named 'tensorboard'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(po.ConfigError, match=r"pip install pinnopt\[tensorboard\]"):
        po.TensorBoardLogger(tmp_path / "tb")


def test_logger_arguments_are_checked() -> None:
    with pytest.raises(po.ConfigError, match="CSVLogger"):
        po.CSVLogger(3)  # type: ignore[arg-type]
    assert "CSVLogger" in po.callbacks.__all__ and "TensorBoardLogger" in po.callbacks.__all__
