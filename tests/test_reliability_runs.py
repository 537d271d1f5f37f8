"""Run folders and checkpoints: nothing lost, nothing executed (issue 15).

Run identity on resume, pruning that only touches the run's own files, stale temporaries,
`pinnopt report` that never runs code, exit codes, output folders, locks, malformed folders.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import pinnopt as po
from pinnopt.train import checkpoint as ckpt

from .train_helpers import SOLVE, ode_problem


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _interrupt_at(k: int):
    def cb(trainer: po.train.Trainer, step: int) -> None:
        if step == k:
            raise KeyboardInterrupt

    return cb


def _same(a: po.Result, b: po.Result) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


KW = {"phases": [po.Adam(400, lr=1e-2)], "log_every": 50, **SOLVE}


# -- 1. a reused checkpoint folder -----------------------------------------------------------------
def test_reused_checkpoint_folder_resumes_the_interrupted_run_not_the_older_one(tmp_path: Path) -> None:
    folder = tmp_path / "D"
    seed0 = po.solve(ode_problem(), seed=0, checkpoint=po.Checkpoint(folder, every=50), **KW)
    cut = po.solve(
        ode_problem(),
        seed=1,
        checkpoint=po.Checkpoint(folder, every=50),
        callbacks=[_interrupt_at(120)],
        **KW,
    )
    assert cut.stop_reason is po.StopReason.INTERRUPTED and cut.steps == 120
    mine = ckpt.checkpoints_in(folder, ckpt.run_id_of(ckpt.checkpoints_in(folder)[-1]))
    names = sorted(p.name.split("-")[1] for p in ckpt.checkpoints_in(folder))
    # both runs keep their newest 3 files: the seed-1 run's Ctrl-C checkpoint survived
    assert names == ["000000050", "000000100", "000000120", "000000300", "000000350", "000000400"]
    assert mine
    resumed = po.solve(ode_problem(), seed=1, resume=folder, **KW)
    whole = po.solve(ode_problem(), seed=1, **KW)
    assert resumed.steps == 400 and _same(resumed, whole) and not _same(resumed, seed0)
    assert resumed.config["seed"] == 1 and resumed.config["resumed"]["file"].endswith(".pt")
    assert "step-000000120-" in resumed.config["resumed"]["file"]


# -- 4. resume with another seed, collocation or width ---------------------------------------------
@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cut")
    kw = {**KW, "phases": [po.Adam(60, lr=1e-2)]}
    po.solve(ode_problem(), checkpoint=po.Checkpoint(folder, every=1000), callbacks=[_interrupt_at(20)], **kw)
    return folder


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seed": 5}, "seed: 0 -> 5"),
        ({"collocation": po.Collocation(interior=32, boundary=1)}, "collocation: Collocation(interior=64"),
        ({"model": po.MLP(width=16, depth=2)}, "model: MLP(width=8"),
        ({"dtype": "float32"}, "dtype: float64 -> float32"),
        (
            {"phases": [po.Adam(60, lr=5e-3)]},
            "lr=0.01, betas=[0.9, 0.999], weight_decay=0.0, fused=None)] -> [Adam(",
        ),
        ({"balance": po.LRAnnealing()}, "strategies: []"),
    ],
    ids=["seed", "collocation", "width", "dtype", "lr", "strategy"],
)
def test_resume_refuses_another_run_listing_the_fields(interrupted: Path, change: dict, field: str) -> None:
    kw = {**KW, "phases": [po.Adam(60, lr=1e-2)], **change}
    with pytest.raises(po.CheckpointError, match="written by another run") as info:
        po.solve(ode_problem(), resume=interrupted, **kw)
    assert field in str(info.value), str(info.value)


def test_resume_accepts_new_budgets_and_records_what_changed(interrupted: Path) -> None:
    kw = {**KW, "phases": [po.Adam(80, lr=1e-2)], "log_every": 10}
    result = po.solve(ode_problem(), resume=interrupted, stop=po.TimeLimit(600), **kw)
    assert result.steps == 80
    changed = result.config["resumed"]["changed"]
    assert set(changed) == {"phase_budgets", "log_every", "stop", "checkpoint"}
    assert changed["log_every"] == {"checkpoint": "50", "now": "10"}
    assert "60" in changed["phase_budgets"]["checkpoint"] and "80" in changed["phase_budgets"]["now"]


def test_a_model_that_does_not_fit_is_a_checkpoint_error(interrupted: Path) -> None:
    from pinnopt.assemble import build_model, build_objective, sample_points

    problem = ode_problem()
    model, _ = build_model(problem, po.MLP(width=16, depth=2))
    model = model.to(torch.float64)
    g = torch.Generator().manual_seed(0)
    points = sample_points(problem, SOLVE["collocation"], g, torch.float64, torch.device("cpu"))
    objective = build_objective(problem).to(torch.float64, torch.device("cpu"))
    trainer = po.train.Trainer(model, objective, points, [po.Adam(60, lr=1e-2)])  # no identity
    with pytest.raises(po.CheckpointError, match="does not fit this run's model"):
        trainer.load_checkpoint(interrupted)


def test_fingerprints_are_stable_across_processes() -> None:
    code = (
        "import pinnopt as po, torch;"
        "from pinnopt import problems;"
        "from pinnopt.train.identity import solve_identity;"
        "kw = problems.recommended('burgers');"
        "i = solve_identity(problems.get('burgers'), model=kw['model'], collocation=kw['collocation'],"
        " phases=kw['phases'], seed=0, dtype=torch.float64, strategies=[po.LRAnnealing()]);"
        "print(i.hash)"
    )
    hashes = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
        assert out.returncode == 0, out.stderr
        hashes.add(out.stdout.strip())
    assert len(hashes) == 1 and len(next(iter(hashes))) == 16


# -- 13. stale temporaries ------------------------------------------------------------------------
def test_stale_temporary_checkpoints_are_removed_on_the_next_write(tmp_path: Path) -> None:
    dead = tmp_path / ".step-000000050-0badc0de.pt.4194305.x1y2z3.tmp"  # pid above pid_max: dead
    dead.write_bytes(b"partial")
    live = tmp_path / f".step-000000050-0badc0de.pt.{os.getpid()}.abc.tmp"  # a writer still running
    live.write_bytes(b"in progress")
    po.solve(ode_problem(), checkpoint=po.Checkpoint(tmp_path, every=10), **{**KW, "phases": [po.Adam(10)]})
    assert not dead.exists() and live.exists()
    assert len(ckpt.checkpoints_in(tmp_path)) == 1
