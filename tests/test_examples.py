"""Every example script runs (with a few steps) and does what its docstring says."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from pinnopt.cli import main as cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / name), run_name="example")


def test_every_example_is_covered() -> None:
    covered = {
        "quickstart.py",
        "forward_pde.py",
        "custom_problem.py",
        "distributed.py",  # here
        "bounded_fit.py",  # tests/test_constraints_solve.py
        "robust_design.py",  # tests/test_robust_solve.py
        "inverse_from_csv.py",  # here
        "minimax.py",  # here
    }
    assert {p.name for p in EXAMPLES.glob("*.py")} == covered, "add a test for each new example"


def test_quickstart_runs() -> None:
    result = _load("quickstart.py")["main"](steps=30)
    assert result.steps > 30 and result.history.loss[-1] < result.history.loss[0]


def test_forward_pde_writes_a_report(tmp_path: Path) -> None:
    result = _load("forward_pde.py")["main"](steps=20, out=str(tmp_path))
    assert (tmp_path / "report.json").exists() and list(tmp_path.glob("*.png"))
    assert result.validate().rel_l2["u"] < 1.0


def test_minimax_finds_theta_1_and_its_worst_case() -> None:
    result = _load("minimax.py")["main"](steps=50)
    assert abs(result.parameters["theta"] - 1.0) <= 1e-3
    assert abs(result.robust.robust_objective - 1.0) <= 1e-3 and result.robust.certified


def test_inverse_from_csv_fits_the_coefficient() -> None:
    result = _load("inverse_from_csv.py")["main"](steps=200)
    assert result.history.loss[-1] < result.history.loss[0]
    assert "D" in result.parameters


def test_custom_problem_file_solves_from_the_command_line(tmp_path: Path) -> None:
    path = str(EXAMPLES / "custom_problem.py")
    assert cli(["check", path]) == 0
    assert cli(["solve", path, "--steps", "40", "--out", str(tmp_path), "--quiet", "--no-plots"]) == 0
    assert (tmp_path / "report.json").exists()


@pytest.mark.slow
def test_distributed_example_runs_under_torchrun(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(EXAMPLES / "distributed.py"),
        "--steps",
        "5",
        "--checkpoint",
        str(tmp_path),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    # torchrun's own traceback fills the tail of stderr; show the workers' first errors too.
    keys = ("terminate", "what()", "Error", "error", "Exception", "Abort")
    first = [line for line in done.stderr.splitlines() if any(k in line for k in keys)][:15]
    assert done.returncode == 0, "\n".join(first) + "\n...\n" + done.stderr[-1500:]
    assert "world size 2" in done.stdout
    assert list(tmp_path.glob("step-*.pt"))
