"""The progress display: a bar on a terminal, a line per check point elsewhere, off on request."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.train import progress as progress_module
from pinnopt.train.progress import Progress, _width, display_mode, duration

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys, sympy as sp, torch
torch.set_num_threads(1)
import pinnopt as po
x = sp.Symbol("x")
u = sp.Function("u")(x)
problem = po.Problem(
    domain=po.Interval(x, -1, 1),
    equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
    conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u)],
    name="tiny",
)
kwargs = dict(model=po.nn.MLP(width=4, depth=1), collocation=po.Collocation(interior=16, boundary=1),
              phases=[po.optim.Adam(steps=30)], log_every=10)
po.solve(problem, **kwargs)
sys.stderr.write("SILENT FROM HERE\\n")
po.solve(problem, runtime=po.Runtime(progress=False), **kwargs)
print("done")
"""


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tiny() -> po.Problem:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u)],
        name="tiny",
    )


def test_off_a_terminal_solve_writes_one_plain_line_per_check_point_on_stderr() -> None:
    proc = subprocess.run(  # stderr is a pipe here, as in a log file
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True
    )
    shown, silent = proc.stderr.split("SILENT FROM HERE\n")
    lines = [line for line in shown.splitlines() if line.startswith("step ")]
    assert len(lines) == 3, proc.stderr
    assert "\r" not in shown and "\x1b" not in shown
    first = lines[0]
    for part in ("step 10/30", "Adam", "loss ", "pde ", "x=-1 ", "steps/s", "eta "):
        assert part in first, first
    assert lines[-1].startswith("step 30/30 (100%)")
    assert silent.strip() == ""  # Runtime(progress=False)
    assert proc.stdout.strip().endswith("done")


def test_lines_follow_the_logging_configuration(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pinnopt")
    po.solve(
        _tiny(),
        model=po.nn.MLP(width=4, depth=1),
        collocation=po.Collocation(interior=16, boundary=1),
        phases=[po.optim.Adam(steps=20)],
        log_every=5,
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "pinnopt.progress"]
    assert [line.split()[1] for line in lines] == ["5/20", "10/20", "15/20", "20/20"]
    # the plain line replaces the short -v step line: no duplicates
    assert not [r for r in caplog.records if r.name == "pinnopt.train" and r.getMessage().startswith("step")]
    assert logging.getLogger("pinnopt.progress").level == logging.NOTSET  # given back


def test_modes_and_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "terminal", lambda stream=None: False)
    assert (display_mode(True), display_mode(None), display_mode(False)) == ("lines", "off", "off")
    monkeypatch.setattr(progress_module, "terminal", lambda stream=None: True)
    assert (display_mode(True), display_mode(None), display_mode(False)) == ("bar", "bar", "off")
    assert [duration(s) for s in (4.4, 185, 3725)] == ["4s", "3m05s", "1h02m"]
    with pytest.raises(po.ConfigError, match="progress"):
        po.Runtime(progress="yes")  # type: ignore[arg-type]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_records_do_not_garble_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)  # what `pinnopt -v` configures
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        bar = Progress(True, 100, ["pde", "bc"])
        assert bar.mode == "bar"
        for step in (10, 20, 30):
            bar.update(step, 1.0 / step, [0.5 / step, 0.5 / step], "Adam")
            logging.getLogger("pinnopt.train").info("MESSAGE %d", step)
        bar.close()
        assert handler in root.handlers and handler.stream is screen  # the redirect was undone
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out = screen.getvalue()
    assert "30/100" in out and "loss=3.333e-02" in out
    for step in (10, 20, 30):
        at = out.index(f"MESSAGE {step}")
        assert out[at - 1] in "\r\n", repr(out[at - 20 : at + 12])  # written on a line of its own
        assert out.count(f"MESSAGE {step}") == 1  # once, not once per redirected logger
    assert _width(io.StringIO()) == {"ncols": 100, "nrows": 20}  # no terminal size: tqdm gets one
