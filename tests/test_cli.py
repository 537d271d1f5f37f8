"""The ``pinnopt`` command: list, check, solve, report, and its error messages."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.cli import build_parser, main
from pinnopt.workflows.sources import cap_steps, time_limit

GOOD = """
import sympy as sp
import pinnopt as po

def make_problem():
    x, k = sp.symbols("x k")
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - k * sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[
            po.On(sp.Eq(x, -1), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(x, 1), u.diff(x) + sp.pi, name="slope"),
        ],
        parameters=[po.Parameter(k, init=0.5, exact=1.0)],
        exact=sp.sin(sp.pi * x),
        name="good",
    )

def recommended():
    return {"model": po.nn.MLP(width=8, depth=2), "collocation": po.Collocation(interior=64, boundary=1),
            "phases": [po.optim.Adam(steps=1000, lr=1e-2)]}
"""

# a wrong sign in the equation and a wrong boundary value
TYPO = GOOD.replace("- k * sp.pi**2", "+ k * sp.pi**2")
TYPO = TYPO.replace("sp.Eq(x, -1), u)", "sp.Eq(x, -1), u - 1)")

NO_PROBLEM = "import sympy as sp\nx = sp.Symbol('x')\n"
BROKEN = "raise RuntimeError('boom\\nand more')\n"
NO_EXACT = """
import sympy as sp
import pinnopt as po
x = sp.Symbol("x")
u = sp.Function("u")(x)
problem = po.Problem(domain=po.Interval(x, 0, 1), equations=[u.diff(x) - 1],
                     conditions=[po.On(sp.Eq(x, 0), u)], name="noexact")
"""


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    texts = {"good": GOOD, "typo": TYPO, "noprob": NO_PROBLEM, "broken": BROKEN, "noexact": NO_EXACT}
    for name, text in texts.items():
        out[name] = tmp_path / f"{name}.py"
        out[name].write_text(text)
    return out


def test_list_shows_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "burgers" in out and "poisson1d" in out and "Cole-Hopf" in out


def test_check_flags_a_mistyped_problem_and_passes_the_correct_one(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(files["typo"])]) == 1
    out = capsys.readouterr().out
    assert out.count("FAIL") == 2 and "2 of 4 terms" in out and "pi**2*sin(pi*x)" in out
    assert main(["check", str(files["good"]), "--gradients"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "hold on the exact solution" in out and "gradient check" in out
    assert main(["check", "poisson1d"]) == 0


def test_solve_writes_a_report_that_reads_back_and_rerenders(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["solve", str(files["good"]), "--steps", "40", "--seed", "3", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "validation against the exact solution on 1001 points" in printed
    report = json.loads((out / "report.json").read_text())
    for key in ("problem", "metrics", "stop_reason", "steps", "wall_time_s", "seed", "versions", "device"):
        assert key in report, key
    assert report["problem"] == "good" and report["seed"] == 3 and report["steps"] == 40
    assert report["device"] == "cpu" and report["stop_reason"] == "STEP_BUDGET"
    assert set(report["metrics"]) == {"u"} and 0 < report["metrics"]["u"]["rel_l2"] < 1
    assert report["versions"]["torch"] == torch.__version__
    assert report["source"] == {"kind": "file", "path": str(files["good"].resolve())}
    assert set(report["plots"]) == {"loss", "solution", "parameters"}
    assert report["parameter_errors"]["k"]["exact"] == 1.0 and "k" in report["parameters"]
    with np.load(out / "history.npz") as arrays:
        assert len(arrays["param/k"]) == 40 and len(arrays["loss"]) == 40
    markdown = (out / "report.md").read_text()
    assert "![Loss history per term](loss.png)" in markdown and "| u |" in markdown
    loaded = po.Result.load(out / "model.pt")
    assert loaded.unknowns == ("u",)
    for name in ("loss.png", "parameters.png", "report.md"):
        (out / name).unlink()
    assert main(["report", str(out)]) == 0
    for name in ("loss.png", "solution.png", "parameters.png"):
        assert (out / name).is_file(), name
    assert "solution.png" in (out / "report.md").read_text()


def test_steps_cap_shortens_phases_proportionally() -> None:
    phases = [po.optim.Adam(steps=2000), po.optim.LBFGS(steps=8000)]
    capped = cap_steps(phases, 100)
    assert [p.steps for p in capped] == [20, 80] and isinstance(capped[1], po.optim.LBFGS)
    assert [p.steps for p in cap_steps(phases, 3)] == [1, 2]
    only = cap_steps(phases, 1)  # the remainder goes to the largest fractional share (L-BFGS)
    assert len(only) == 1 and isinstance(only[0], po.optim.LBFGS) and only[0].steps == 1
    assert cap_steps(phases, 20000) == phases


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "{dir}/missing.py"], "does not exist"),
        (["check", "{noprob}"], "defines neither `problem` nor `make_problem()`"),
        (["check", "{broken}"], "failed to run: RuntimeError: boom and more"),
        (["solve", "{noexact}", "--out", "{dir}/o"], "declares no exact solution to validate against"),
        (["check", "{noexact}"], "declares no exact solution"),
        (["solve", "no_such_problem"], "no library problem named 'no_such_problem'"),
        (["solve", "{good}", "--out", "{good}/run"], "is not writable"),
        (["report", "{dir}"], "no report there"),
        (["solve", "{good}", "--out", "{dir}/o", "--resume", "{dir}/nothing"], "--resume"),
        (["solve", "{good}", "--out", "{dir}/o", "--steps", "0"], "--steps 0"),
        (["solve", "{good}", "--quick", "--out", "{dir}/o"], "defines no quick() configuration"),
    ],
    ids=[
        "missing-file",
        "no-problem",
        "broken-file",
        "solve-no-exact",
        "check-no-exact",
        "unknown-name",
        "unwritable-out",
        "not-a-run",
        "resume",
        "bad-steps",
        "no-quick",
    ],
)
def test_errors_exit_nonzero_with_one_line_and_no_traceback(
    argv: list[str], message: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {k: str(v) for k, v in files.items()} | {"dir": str(tmp_path)}
    assert main([a.format(**names) for a in argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pinnopt: error: "), captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize("module", ["pinnopt", "pinnopt.cli"])
def test_console_script_error_has_no_traceback(tmp_path: Path, module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, "solve", str(tmp_path / "missing.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    expected = f"pinnopt: error: problem file {tmp_path / 'missing.py'} does not exist"
    assert proc.stderr.strip().splitlines() == [expected]


def test_solve_writes_checkpoints_and_resume_continues(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["solve", "poisson1d", "--steps", "30", "--out", str(first), "--quiet", "--no-plots"]) == 0
    assert sorted((first / "checkpoints").glob("step-*.pt"))
    code = main(
        [
            "solve",
            "poisson1d",
            "--steps",
            "90",
            "--out",
            str(second),
            "--resume",
            str(first),
            "--quiet",
            "--no-plots",
        ]
    )
    assert code == 0
    before = json.loads((first / "report.json").read_text())
    after = json.loads((second / "report.json").read_text())
    assert after["steps"] > before["steps"] == 30


# -- day-to-day options -----------------------------------------------------------------------------


def test_verbose_and_quiet_are_accepted_before_and_after_the_command() -> None:
    parser = build_parser()
    for argv in (
        ["-v", "-q", "list"],
        ["list", "-v", "-q"],
        ["-v", "list", "--quiet"],
        ["list", "--verbose", "-q"],
    ):
        args = parser.parse_args(argv)
        assert args.verbose and args.quiet, argv
    args = parser.parse_args(["-v", "solve", "burgers"])
    assert args.verbose and not args.quiet
    args = parser.parse_args(["solve", "burgers"])
    assert not args.verbose and not args.quiet


def test_help_is_plain_text() -> None:
    parser = build_parser()
    texts = [parser.format_help()]
    for command in ("list", "check", "solve", "report"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    texts += [p.format_help() for p in sub.choices.values()]
    for text in texts:
        assert "`" not in text, text
    assert (
        "--time-limit SECONDS" in texts[3] and "--lr LR" in texts[3] and "--log {csv,tensorboard}" in texts[3]
    )


def test_list_aligns_long_names(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [("a_rather_long_problem_name", "first"), ("short", "second")]
    monkeypatch.setattr(problems, "describe", lambda: rows)
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.index(d) for line, (_, d) in zip(lines, rows, strict=True)] == [28, 28]
    assert lines[0].startswith("a_rather_long_problem_name  first")


def test_solve_shows_one_progress_display_and_quiet_silences_it(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    argv = ["solve", str(files["good"]), "--steps", "20", "--no-plots", "--no-validate"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "pinnopt.progress"]
    assert len(lines) == 4 and lines[-1].startswith("step 20/20 (100%)")  # log_every = 5
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "good: 20 steps" in captured.out  # no carriage-return bar here
    caplog.clear()
    assert main(["-q", *argv, "--out", str(tmp_path / "b")]) == 0
    assert not [r for r in caplog.records if r.name == "pinnopt.progress"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_time_limit_lr_and_loggers_reach_the_run(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = [
        "solve",
        str(files["good"]),
        "--out",
        str(out),
        "-q",
        "--no-plots",
        "--lr",
        "0.003",
        "--log",
        "csv",
    ]
    assert main([*argv, "--steps", "30"]) == 0
    config = po.Result.load(out / "model.pt").config
    assert config["learning_rates"][0]["lr"] == 0.003 and config["stop"] is None
    with open(out / "log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[-1]["step"] == "30" and float(rows[0]["lr"]) == 0.003
    with np.load(out / "predictions.npz") as data:
        assert set(data.files) == {"x", "u"} and len(data["u"]) == 1001
    report = json.loads((out / "report.json").read_text())
    assert report["files"]["predictions"] == "predictions.npz"
    assert main([*argv, "--overwrite", "--time-limit", "1e-9"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["stop_reason"] == "TIME_LIMIT" and report["steps"] < 1000
    assert "TimeLimit(1e-09)" in po.Result.load(out / "model.pt").config["stop"]
    for bad, message in ((["--lr", "0"], "--lr 0"), (["--time-limit", "-1"], "--time-limit -1")):
        assert main([*argv, "--overwrite", *bad]) == 2
        assert message in capsys.readouterr().err


def test_a_time_limit_is_shared_by_the_windows_of_a_march() -> None:
    alone = time_limit({}, 60)
    assert isinstance(alone, po.stop.TimeLimit) and alone.seconds == 60
    marched = time_limit({"marching": po.Marching(windows=4), "stop": po.stop.MaxSteps(10)}, 60)
    assert repr(marched) == repr(po.stop.MaxSteps(10) | po.stop.TimeLimit(15))
