"""Hyperparameter sweeps: the space, trial states and reasons, shared SQLite studies, the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pinnopt as po
from pinnopt.cli import main
from pinnopt.workflows.sweep_space import SpacePathError, apply_params, normalize_space, python_source

from .train_helpers import ode_problem

ROOT = Path(__file__).resolve().parents[1]
Float, Int, Choice = po.workflows.Float, po.workflows.Int, po.workflows.Choice

BASE = {
    "model": po.nn.MLP(width=8, depth=2),
    "collocation": po.Collocation(interior=32, boundary=1),
    "phases": [po.optim.Adam(steps=60, lr=1e-2)],
    "log_every": 10,
}
"""A tiny configuration of :func:`ode_problem` (well under a second per trial)."""

SHARED_SPACE = {"lr": Float(1e-3, 1e-1, log=True)}


# -- the space (no Optuna needed) ----------------------------------------------------------------------
def test_space_paths_aliases_and_conversions() -> None:
    space = normalize_space(
        {
            "lr": Float(1e-3, 1e-1, log=True),
            "width": Int(4, 16),
            "batch": Choice([None, 16]),
            "init": Choice(["KaimingNormal"]),
        }
    )
    assert list(space) == ["batch", "model.width", "model.init", "phases.0.lr"]  # shorter paths first
    options = apply_params(
        BASE, {"phases.0.lr": 0.05, "model.width": 12, "batch": 16, "model.init": "KaimingNormal"}
    )
    assert options["phases"][0] == po.optim.Adam(steps=60, lr=0.05)
    assert options["model"].width == 12 and isinstance(options["model"].init, po.init.KaimingNormal)
    assert options["batch"] == po.optim.MiniBatch(size=16)
    assert BASE["phases"][0].lr == 1e-2 and BASE["model"].width == 8  # the base is not changed
    # a whole option set first, then a path into it
    chosen = apply_params(BASE, {"phases": [po.optim.Adam(10), po.optim.LBFGS(5)], "phases.1.steps": 7})
    assert chosen["phases"] == [po.optim.Adam(10), po.optim.LBFGS(7)]


def test_bad_keys_and_dimensions_are_refused_with_their_name() -> None:
    with pytest.raises(SpacePathError, match=r"'model\.wdth'.*no field 'wdth'"):
        apply_params(BASE, {"model.wdth": 3})
    with pytest.raises(SpacePathError, match=r"'phases\.3\.lr'"):
        apply_params(BASE, {"phases.3.lr": 3.0})
    with pytest.raises(po.ConfigError, match="log=True"):
        Float(0.0, 1.0, log=True)
    with pytest.raises(po.ConfigError, match="same label"):
        Choice([1, 1])
    with pytest.raises(po.ConfigError, match=r"space\['lr'\]"):
        normalize_space({"lr": (1e-3, 1e-2)})


def test_python_source_rebuilds_the_options() -> None:
    options = apply_params(BASE, {"model.init": "LeCunNormal", "batch": 8})
    text = python_source({k: options[k] for k in ("model", "phases", "batch", "log_every")})
    assert "po.nn.MLP(width=8, depth=2, init=po.init.LeCunNormal())" in text
    rebuilt = eval(text, {"po": po})
    assert rebuilt["model"] == options["model"] and rebuilt["phases"] == options["phases"]
    assert rebuilt["batch"] == po.optim.MiniBatch(size=8)


def test_a_missing_optuna_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(po.ConfigError, match=r"pinnopt\[sweep\]"):
        po.sweep(ode_problem(), {"lr": Float(1e-3, 1e-1)}, trials=1, base=BASE)


# -- studies ------------------------------------------------------------------------------------------
def test_pruned_diverged_and_refused_trials_are_recorded_with_their_reasons(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    phases = {
        "good": [po.optim.Adam(steps=60, lr=1e-2)],
        "slow": [po.optim.Adam(steps=60, lr=1e-7)],  # learns nothing: pruned against the good ones
        "diverge": [po.optim.SGD(steps=60, lr=1e6)],
    }
    space = {"phases": Choice(list(phases.values()), labels=list(phases)), "width": Choice([8, 0])}
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url, study_name="states")
    for label, width in [("good", 8), ("good", 8), ("slow", 8), ("diverge", 8), ("good", 0)]:
        study.enqueue_trial({"phases": label, "model.width": width})
    result = po.sweep(
        ode_problem(),
        space,
        trials=5,
        base=BASE,
        storage=url,
        study="states",
        out=tmp_path / "run",
        pruner="median",
    )
    states = [(t.state, t.reason) for t in result.trials]
    assert [s for s, _ in states] == ["complete", "complete", "pruned", "failed", "failed"]
    assert states[2][1].startswith("pruned at step 3") and result.trials[2].stop_reason == "PRUNED"
    assert result.trials[2].steps < 60  # stopped early, cleanly (a result came back)
    assert states[3][1].startswith("diverged: DIVERGED")
    assert states[4][1].startswith("refused configuration: MLP(width=0)")
    assert all(t.seed == 0 and t.time_s is not None for t in result.trials)
    # the best configuration, solved again with one call, gives the same error
    best = result.best
    assert best is not None and best.number in (0, 1) and best.value < 0.5 * result.trials[2].value
    again = result.solve_best()
    assert again.validate().worst_rel_l2 == pytest.approx(best.value, rel=1e-9)
    # files: the table, the report (best trial listed), best.py, the history plot
    files = result.files
    rows = list(csv.DictReader(files["csv"].read_text().splitlines()))
    assert [r["state"] for r in rows] == ["complete", "complete", "pruned", "failed", "failed"]
    assert "refused configuration" in files["table"].read_text()
    report = json.loads(files["report"].read_text())
    assert report["trials"] == {"complete": 2, "pruned": 1, "failed": 2, "running": 0}
    assert report["best"]["number"] == best.number and report["pruner"].startswith(
        "PercentilePruner(percentile=50"
    )
    assert (files["history"].stat().st_size > 0 and "importance" in report["files"]) or "importance" in report
    namespace: dict[str, object] = {}
    exec(files["best"].read_text(), namespace)
    assert namespace["options"]()["phases"] == phases["good"]  # type: ignore[operator]


def test_bad_space_key_and_storage_fail_before_any_trial(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    with pytest.raises(SpacePathError, match=r"'model\.wdth'"):
        po.sweep(ode_problem(), {"model.wdth": Int(2, 4)}, trials=1, base=BASE, out=tmp_path / "a")
    with pytest.raises(po.ConfigError, match="sweep storage nosuchdb://"):
        po.sweep(
            ode_problem(),
            {"lr": Float(1e-3, 1e-1)},
            trials=1,
            base=BASE,
            storage="nosuchdb://x",
            out=tmp_path / "b",
        )
    with pytest.raises(po.ConfigError, match="checkpoint="):
        po.sweep(ode_problem(), {"lr": Float(1e-3, 1e-1)}, base={**BASE, "checkpoint": tmp_path})


WORKER = """
import sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
import pinnopt as po
from tests.test_sweep import BASE, SHARED_SPACE
from tests.train_helpers import ode_problem
url, out, k, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
while not go.exists():
    time.sleep(0.01)
po.sweep(ode_problem(), SHARED_SPACE, trials=2, base=BASE,
         storage=url, study="shared", sampler_seed=k, out=out, plots=False, pruner=None)
"""


@pytest.mark.slow  # two interpreters start (torch imports dominate)
def test_two_processes_share_one_sqlite_study(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(tmp_path / f"w{k}"), str(k), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in range(2)
    ]
    time.sleep(0.5)
    go.touch()  # both open the (not yet existing) study at once
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    study = optuna.load_study(storage=url, study_name="shared")
    trials = study.get_trials()
    assert len(trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    for k in range(2):  # each process wrote its table of the whole study (at least its own trials)
        rows = list(csv.DictReader((tmp_path / f"w{k}" / "trials.csv").read_text().splitlines()))
        assert len(rows) >= 2
    # trials=0 reports the stored study: all four trials, one best
    report = po.sweep(
        ode_problem(), SHARED_SPACE, trials=0, base=BASE, storage=url, study="shared", out=tmp_path / "r"
    )
    assert len(report.trials) == 4 and report.best is not None
    assert report.best.value == min(t.value for t in trials)


def test_cli_sweep_writes_the_table_and_names_the_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("optuna")
    out = tmp_path / "run"
    code = main(
        [
            "sweep",
            "decay",
            "--trials",
            "2",
            "--steps",
            "30",
            "--out",
            str(out),
            "--no-plots",
            "--study",
            "cli",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "trial 0: complete" in text and "best: trial" in text and "po.nn.MLP(" in text
    assert (out / "trials.csv").is_file() and (out / "trials.md").is_file() and (out / "best.py").is_file()
    assert (out / "study.db").is_file()


def test_the_auto_pruner_prunes_only_under_a_timeout_with_fixed_phase_boundaries(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    problem, lr, steps = ode_problem(), {"lr": Float(1e-3, 1e-1)}, {"phases.0.steps": Int(30, 60)}
    assert po.sweep(problem, lr, 0, base=BASE, out=tmp_path / "a").pruner == "none"  # a trial budget
    timed = po.sweep(problem, lr, 0, base=BASE, out=tmp_path / "b", timeout=60)
    assert timed.pruner.startswith("PercentilePruner(percentile=75.0") and timed.trials == []
    assert po.sweep(problem, steps, 0, base=BASE, out=tmp_path / "c", timeout=60).pruner == "none"
    forced = po.sweep(problem, steps, 0, base=BASE, out=tmp_path / "d", pruner="median")
    assert forced.pruner.startswith("PercentilePruner(percentile=50.0")
    with pytest.raises(po.ConfigError, match="pruner='mean'"):
        po.sweep(problem, lr, 0, base=BASE, out=tmp_path / "e", pruner="mean")


def test_a_storage_password_never_reaches_the_report() -> None:
    from pinnopt.workflows.sweep_storage import masked

    assert masked("postgresql://bob:secret@db.example:5432/s") == "postgresql://bob:***@db.example:5432/s"
    assert masked("sqlite:///s.db") == "sqlite:///s.db"
