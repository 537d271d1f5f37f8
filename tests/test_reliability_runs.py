"""Run folders and checkpoints: nothing lost, nothing executed (issue 15).

Run identity on resume, pruning that only touches the run's own files, stale temporaries,
`pinnopt report` that never runs code, exit codes, output folders, locks, malformed folders.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import pinnopt as po
from pinnopt.cli import build_parser, main
from pinnopt.exitcodes import EXIT_CODES, EXIT_TABLE
from pinnopt.train import checkpoint as ckpt
from pinnopt.validate.rundir import folder_lock

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


KW = {"phases": [po.optim.Adam(400, lr=1e-2)], "log_every": 50, **SOLVE}


# -- 1. a reused checkpoint folder -----------------------------------------------------------------
def test_reused_checkpoint_folder_resumes_the_interrupted_run_not_the_older_one(tmp_path: Path) -> None:
    folder = tmp_path / "D"
    seed0 = po.solve(ode_problem(), seed=0, checkpoint=po.callbacks.Checkpoint(folder, every=50), **KW)
    cut = po.solve(
        ode_problem(),
        seed=1,
        checkpoint=po.callbacks.Checkpoint(folder, every=50),
        callbacks=[_interrupt_at(120)],
        **KW,
    )
    assert cut.stop_reason is po.stop.StopReason.INTERRUPTED and cut.steps == 120
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
    kw = {**KW, "phases": [po.optim.Adam(60, lr=1e-2)]}
    po.solve(
        ode_problem(),
        checkpoint=po.callbacks.Checkpoint(folder, every=1000),
        callbacks=[_interrupt_at(20)],
        **kw,
    )
    return folder


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seed": 5}, "seed: 0 -> 5"),
        ({"collocation": po.Collocation(interior=32, boundary=1)}, "collocation: Collocation(interior=64"),
        ({"model": po.nn.MLP(width=16, depth=2)}, "model: MLP(width=8"),
        ({"dtype": "float32"}, "dtype: float64 -> float32"),
        (
            {"phases": [po.optim.Adam(60, lr=5e-3)]},
            "lr=0.01, betas=[0.9, 0.999], weight_decay=0.0, fused=None)] -> [Adam(",
        ),
        ({"strategies": [po.balance.LRAnnealing()]}, "strategies: []"),
        ({"strategies": [po.sample.Resample(every=10)]}, "samplers: <absent> -> "),
        (
            {"runtime": po.Runtime(engine=po.nn.TaylorEngine(fused=False))},
            "engine: None -> TaylorEngine(stack=None, fused=False)",
        ),
        (
            {"runtime": po.Runtime(engine=po.nn.AutoEngine(min_order=1))},
            "engine: None -> AutoEngine(min_order=1)",
        ),
    ],
    ids=["seed", "collocation", "width", "dtype", "lr", "strategy", "sampler", "taylor", "auto_order"],
)
def test_resume_refuses_another_run_listing_the_fields(interrupted: Path, change: dict, field: str) -> None:
    kw = {**KW, "phases": [po.optim.Adam(60, lr=1e-2)], **change}
    with pytest.raises(po.CheckpointError, match="written by another run") as info:
        po.solve(ode_problem(), resume=interrupted, **kw)
    assert field in str(info.value), str(info.value)


def test_resume_takes_the_default_engine_given_explicitly_and_records_its_settings(interrupted: Path) -> None:
    # the default engine is written "None" in the fingerprint, as before engines had a repr:
    # checkpoints of default-engine runs stay resumable, with or without an explicit AutoEngine()
    payload = ckpt.load(ckpt.checkpoints_in(interrupted)[-1])
    assert payload["meta"]["fingerprint"]["fields"]["engine"] == "None"
    kw = {**KW, "phases": [po.optim.Adam(60, lr=1e-2)]}
    result = po.solve(ode_problem(), resume=interrupted, runtime=po.Runtime(engine=po.nn.AutoEngine()), **kw)
    assert result.steps == 60 and result.config["engine_settings"] == "AutoEngine(min_order=2)"


def test_resume_refuses_other_adaptive_sampling_and_records_it(tmp_path: Path) -> None:
    rar = po.sample.RAR(every=10, add=4, candidates=64)
    kw = {**KW, "phases": [po.optim.Adam(40, lr=1e-2)]}
    po.solve(
        ode_problem(),
        strategies=[rar],
        checkpoint=po.callbacks.Checkpoint(tmp_path, every=1000),
        callbacks=[_interrupt_at(25)],
        **kw,
    )
    others = [
        [po.sample.RAD(every=10, candidates=64)],
        [po.sample.RAR(every=10, add=5, candidates=64)],
        [po.sample.RAR(every=20, add=4, candidates=64)],
        [],
    ]
    for strategies in others:
        with pytest.raises(po.CheckpointError, match="written by another run") as info:
            po.solve(ode_problem(), strategies=strategies, resume=tmp_path, **kw)
        assert 'samplers: ["RAR(every=10' in str(info.value), str(info.value)
    # how candidates are evaluated (chunk) is not part of the run: it may change
    same = po.sample.RAR(every=10, add=4, candidates=64, chunk=16)
    result = po.solve(ode_problem(), strategies=[same], resume=tmp_path, **kw)
    assert result.steps == 40
    recorded = "RAR(every=10, sets=['interior'], until=None, start=10, candidates=64, add=4)"
    assert result.config["sampling"] == [recorded]


def test_resume_accepts_new_budgets_and_records_what_changed(interrupted: Path) -> None:
    kw = {**KW, "phases": [po.optim.Adam(80, lr=1e-2)], "log_every": 10}
    result = po.solve(ode_problem(), resume=interrupted, stop=po.stop.TimeLimit(600), **kw)
    assert result.steps == 80
    changed = result.config["resumed"]["changed"]
    assert set(changed) == {"phase_budgets", "log_every", "stop", "checkpoint"}
    assert changed["log_every"] == {"checkpoint": "50", "now": "10"}
    assert "60" in changed["phase_budgets"]["checkpoint"] and "80" in changed["phase_budgets"]["now"]


def test_a_model_that_does_not_fit_is_a_checkpoint_error(interrupted: Path) -> None:
    from pinnopt.compile.assemble import build_model, build_objective, sample_points

    problem = ode_problem()
    model, _ = build_model(problem, po.nn.MLP(width=16, depth=2))
    model = model.to(torch.float64)
    g = torch.Generator().manual_seed(0)
    points = sample_points(problem, SOLVE["collocation"], g, torch.float64, torch.device("cpu"))
    objective = build_objective(problem).to(torch.float64, torch.device("cpu"))
    trainer = po.train.Trainer(model, objective, points, [po.optim.Adam(60, lr=1e-2)])  # no identity
    with pytest.raises(po.CheckpointError, match="does not fit this run's model"):
        trainer.load_checkpoint(interrupted)


def _burgers_identity() -> str:
    from pinnopt import problems
    from pinnopt.train.identity import solve_identity

    kw = problems.recommended("burgers")
    ident = solve_identity(
        problems.get("burgers"),
        model=kw["model"],
        collocation=kw["collocation"],
        phases=kw["phases"],
        seed=0,
        dtype=torch.float64,
        strategies=[po.balance.LRAnnealing()],
    )
    return ident.hash


def test_fingerprints_are_stable_across_processes() -> None:
    here = _burgers_identity()  # this process hashes strings with another PYTHONHASHSEED
    code = "from tests.test_reliability_runs import _burgers_identity as f; print(f())"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == here and len(here) == 16


# -- 13. stale temporaries ------------------------------------------------------------------------
def test_stale_temporary_checkpoints_are_removed_on_the_next_write(tmp_path: Path) -> None:
    dead = tmp_path / ".step-000000050-0badc0de.pt.4194305.x1y2z3.tmp"  # pid above pid_max: dead
    dead.write_bytes(b"partial")
    live = tmp_path / f".step-000000050-0badc0de.pt.{os.getpid()}.abc.tmp"  # a writer still running
    live.write_bytes(b"in progress")
    po.solve(
        ode_problem(),
        checkpoint=po.callbacks.Checkpoint(tmp_path, every=10),
        **{**KW, "phases": [po.optim.Adam(10)]},
    )
    assert not dead.exists() and live.exists()
    assert len(ckpt.checkpoints_in(tmp_path)) == 1


# -- the command line ------------------------------------------------------------------------------
TINY = """
import sympy as sp
import torch
import pinnopt as po

MODE = "{mode}"


def make_problem():
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    return po.Problem(domain=po.Interval(x, 0, 1), equations=[u.diff(x) - 2 * x],
                      conditions=[po.On(sp.Eq(x, 0), u)], exact=x**2, name="tiny")


def _act(view, step):
    if MODE == "diverge" and step == 5:
        key, value = next(iter(view.model_state().items()))
        return po.train.TrainingUpdate(model_state={{key: torch.full_like(value, float("nan"))}})
    if MODE == "interrupt" and step == 12:
        raise KeyboardInterrupt


def recommended():
    return {{"model": po.nn.MLP(width=8, depth=2), "collocation": po.Collocation(interior=32, boundary=1),
            "phases": [po.optim.Adam(steps=30, lr=1e-2)],
            "runtime": po.Runtime(guard=po.optim.DivergenceGuard(max_retries=0)), "callbacks": [_act]}}
"""

EVIL = "open({marker!r}, 'w').write('ran')\n"


def _file(tmp_path: Path, mode: str = "plain") -> str:
    path = tmp_path / f"tiny_{mode}.py"
    path.write_text(TINY.format(mode=mode))
    return str(path)


def _solve_cli(*argv: str) -> int:
    return main(["solve", *argv, "--quiet", "--no-plots"])


def test_exit_status_table_covers_every_stop_reason() -> None:
    assert set(EXIT_CODES) == {r.name for r in po.stop.StopReason}
    assert EXIT_CODES["DIVERGED"] == 3 and EXIT_CODES["INTERRUPTED"] == 130
    assert {c for c in EXIT_CODES.values()} == {0, 3, 130}
    epilog = build_parser().format_help()
    docs = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()
    for code, _ in EXIT_TABLE:
        assert f"  {code} " in epilog.replace(f"  {code:<4} ", f"  {code} ")
        assert f"| {code} |" in docs, code
    assert [c for c, _ in EXIT_TABLE] == [0, 1, 2, 3, 130]


def test_report_status_agrees_with_the_exit_status_for_every_stop_reason() -> None:
    from pinnopt.validate.report import run_status

    statuses = {0: "completed", 3: "diverged", 130: "interrupted"}
    for reason in po.stop.StopReason:
        assert run_status(reason.name) == statuses[EXIT_CODES[reason.name]], reason
    assert run_status("NOT_FINITE") == run_status("LINE_SEARCH_NOT_FINITE") == "diverged"
    assert run_status(None) == "unknown"


def test_interrupted_and_diverged_solves_exit_nonzero_with_marked_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut, bad = tmp_path / "cut", tmp_path / "bad"
    assert _solve_cli(_file(tmp_path, "interrupt"), "--out", str(cut)) == 130
    report = json.loads((cut / "report.json").read_text())
    assert report["status"] == "interrupted" and report["stop_reason"] == "INTERRUPTED"
    assert report["exit_code"] == 130 and report["steps"] == 12
    assert ckpt.checkpoints_in(cut / "checkpoints")[-1].name.startswith("step-000000012-")
    assert "**interrupted**" in (cut / "report.md").read_text()
    assert f"--resume {cut}" in capsys.readouterr().err
    assert _solve_cli(_file(tmp_path, "diverge"), "--out", str(bad)) == 3
    report = json.loads((bad / "report.json").read_text())
    assert report["status"] == "diverged" and report["exit_code"] == 3
    assert "pinnopt: diverged" in capsys.readouterr().err
    assert _solve_cli(_file(tmp_path), "--out", str(tmp_path / "ok")) == 0
    assert json.loads((tmp_path / "ok" / "report.json").read_text())["status"] == "completed"


def test_default_folders_are_fresh_and_rejected_calls_create_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _file(tmp_path)
    assert _solve_cli(spec, "--steps", "0") == 2
    device = "nosuchdevice" if torch.cuda.is_available() else "cuda"
    assert _solve_cli(spec, "--device", device) == 2
    assert not (tmp_path / "runs").exists()
    assert _solve_cli(spec, "--steps", "10") == 0
    assert _solve_cli(spec, "--steps", "10", "--seed", "1") == 0
    runs = sorted((tmp_path / "runs" / "tiny").iterdir())
    assert len(runs) == 2
    seeds = sorted(json.loads((r / "report.json").read_text())["seed"] for r in runs)
    assert seeds == [0, 1]


def test_an_out_folder_holding_a_run_is_refused_locked_or_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, out = _file(tmp_path), tmp_path / "D"
    assert _solve_cli(spec, "--out", str(out), "--steps", "20") == 0
    first = (out / "model.pt").read_bytes()
    capsys.readouterr()
    assert _solve_cli(spec, "--out", str(out), "--seed", "1") == 2
    assert "holds another run" in capsys.readouterr().err and (out / "model.pt").read_bytes() == first
    # the CLI form of item 1: resuming the folder with another seed names the field
    assert _solve_cli(spec, "--out", str(out), "--seed", "1", "--resume", str(out)) == 2
    err = capsys.readouterr().err
    assert "written by another run" in err and "seed: 0 -> 1" in err
    assert (out / "model.pt").read_bytes() == first
    with folder_lock(out):
        assert _solve_cli(spec, "--out", str(out), "--overwrite") == 2
        assert f"pid {os.getpid()}" in capsys.readouterr().err
    assert _solve_cli(spec, "--out", str(out), "--overwrite", "--seed", "1") == 0
    assert json.loads((out / "report.json").read_text())["seed"] == 1
    assert len(ckpt.runs_in(out / "checkpoints")) == 1  # the replaced run's checkpoints are gone


def test_a_bad_resume_source_leaves_no_folder_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _file(tmp_path)
    empty, junk = tmp_path / "empty", tmp_path / "junk.pt"
    empty.mkdir()
    junk.write_text("not a checkpoint")
    assert _solve_cli(spec, "--resume", str(empty)) == 2
    assert "holds no step-*.pt checkpoint" in capsys.readouterr().err
    assert _solve_cli(spec, "--resume", str(junk)) == 2
    assert "junk.pt: not a readable pinnopt checkpoint" in capsys.readouterr().err
    # a readable checkpoint of another run: refused while the run is set up, in a fresh
    # folder that is removed again
    assert _solve_cli(spec, "--out", "first", "--steps", "10") == 0
    assert _solve_cli(spec, "--resume", "first/checkpoints", "--seed", "3") == 2
    assert "seed: 0 -> 3" in capsys.readouterr().err
    runs = tmp_path / "runs" / "tiny"
    assert not runs.exists() or not any(runs.iterdir())


def test_resuming_another_folders_run_into_an_out_holding_a_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, a, b = _file(tmp_path), tmp_path / "A", tmp_path / "B"
    assert _solve_cli(spec, "--out", str(a), "--steps", "10", "--seed", "5") == 0
    assert _solve_cli(spec, "--out", str(b), "--steps", "10") == 0
    before = (a / "model.pt").read_bytes()
    capsys.readouterr()
    assert _solve_cli(spec, "--out", str(a), "--resume", str(b), "--steps", "20") == 2
    assert f"--out {a} holds another run, and --resume {b}" in capsys.readouterr().err
    assert (a / "model.pt").read_bytes() == before
    assert json.loads((a / "report.json").read_text())["seed"] == 5
    # continuing a run in its own folder, named either way, still works
    assert _solve_cli(spec, "--out", str(b), "--resume", str(b / "checkpoints"), "--steps", "20") == 0
    assert json.loads((b / "report.json").read_text())["steps"] == 20


def test_report_never_runs_a_file_named_in_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, out, marker = Path(_file(tmp_path)), tmp_path / "run", tmp_path / "marker"
    assert _solve_cli(str(spec), "--out", str(out)) == 0
    # somebody's code where the problem file was
    spec.write_text(EVIL.format(marker=str(marker)) + TINY.format(mode="plain"))
    assert main(["report", str(out)]) == 0
    assert not marker.exists()
    assert "never runs" in capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert "solution" not in report["plots"] and "loss" in report["plots"]
    for source in ({"kind": "library", "name": str(spec)}, {"kind": "file", "name": str(spec)}):
        report["source"] = source
        (out / "report.json").write_text(json.dumps(report))
        assert main(["report", str(out)]) == 0
        assert not marker.exists()
    assert main(["report", str(out), "--problem", str(spec)]) == 0  # the user's explicit choice
    assert marker.exists() and "solution" in json.loads((out / "report.json").read_text())["plots"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("good")
    out = base / "run"
    assert _solve_cli(_file(base), "--out", str(out), "--steps", "10") == 0
    return out


def _set(key: str, value: object):
    def edit(folder: Path) -> None:
        report = json.loads((folder / "report.json").read_text())
        report[key] = value
        (folder / "report.json").write_text(json.dumps(report))

    return edit


def _write(name: str, data: bytes):
    return lambda folder: (folder / name).write_bytes(data)


def _npz(**arrays: object):
    def edit(folder: Path) -> None:
        import numpy as np

        np.savez(folder / "history.npz", **arrays)

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_write("report.json", b"{not json"), "report.json: not a readable JSON report"),
        (_write("report.json", b"[]"), "report.json: not a pinnopt report"),
        (_set("source", "burgers"), "report.json: field 'source' is a str, expected a dict"),
        (_set("plots", ["loss.png"]), "report.json: field 'plots' is a list, expected a dict"),
        (_set("plots", {"loss": "../../etc/passwd"}), "report.json: field 'plots' must map"),
        (_set("notes", "a note"), "report.json: field 'notes' is a str"),
        (_set("phases", 3), "report.json: a field has an unexpected form"),
        (_write("history.npz", b"PK junk"), "history.npz: not a readable history archive"),
        (_npz(loss=[[1.0, 2.0]]), "history.npz: array 'loss' is float64 of shape (1, 2), expected 1-D"),
        (_npz(loss=[1.0, 2.0], step=[1]), "history.npz: the per-step arrays differ in length"),
        (_write("model.pt", b"junk"), "model.pt: not a readable pinnopt result"),
    ],
    ids=[
        "json",
        "not-dict",
        "source",
        "plots",
        "plot-path",
        "notes",
        "phases",
        "npz-zip",
        "npz-shape",
        "npz-length",
        "model",
    ],
)
def test_malformed_run_folders_give_one_line_errors(
    run_folder: Path, tmp_path: Path, edit, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(run_folder, folder)
    edit(folder)
    argv = ["report", str(folder)]
    if "model.pt" in message:
        argv += ["--problem", str(next(run_folder.parent.glob("tiny_*.py")))]
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith("pinnopt: note: ")]
    assert len(errors) == 1 and errors[0].startswith("pinnopt: error: ") and message in errors[0], err
