"""Quick configurations: each library problem's ``quick()`` (a step budget, a few minutes on one core).

Runs ``quick()`` of the named problems (default: all) on one torch thread, validates each
run, and merges one record per (problem, seed) into benchmarks/results/quick.json; then
rewrites the README section between the quick markers from that JSON.

    python -m benchmarks.quick                         # every library problem, seed 0
    python -m benchmarks.quick decay heat1d --seeds 0 1 2
    python -m benchmarks.quick --table                 # print the Markdown from the stored JSON
    python -m benchmarks.quick --write                 # rewrite the README section only
    python -m benchmarks.quick --check                 # exit 1 if the README section is out of date

A quick configuration passes when its error is at most ``FACTOR`` x the problem's TARGET
(for inverse problems: the fitted coefficients' relative error, as in the accuracy table)
and the whole run (problem setup, training, validation) takes at most ``LIMIT_S`` seconds
of CPU time on one thread. CPU time is the measure because the machine is shared: the wall
time of the same run is recorded beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from pinnopt import problems
from pinnopt.validate.report import machine, versions
from pinnopt.workflows.configured import run_configuration

from .common import RESULTS

OUT = RESULTS / "quick.json"
README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- quick:start -->", "<!-- quick:end -->"
FACTOR = 3.0
LIMIT_S = 180.0


def judged_error(record: dict[str, Any]) -> float:
    """The error a run is judged by: the fitted coefficients' largest relative error if the
    problem fits any, else the largest relative L2 over the unknowns."""
    params = record.get("parameter_errors") or {}
    if params:
        return max(v["rel_error"] for v in params.values())
    return max(m["rel_l2"] for m in record["metrics"].values())


def run(name: str, seed: int) -> dict[str, Any]:
    """Solve library problem ``name`` with its quick configuration; the run's record."""
    module = problems.module(name)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    problem = module.make_problem()
    kwargs = problems.quick(name)
    budget = sum(int(p.steps) for p in kwargs.get("phases", ()))
    windows = getattr(kwargs.get("marching"), "windows", 1)
    config = {k: repr(v) for k, v in kwargs.items()}
    kwargs["seed"] = seed
    result = run_configuration(problem, **kwargs)
    validation = result.validate().to_dict()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    record = {
        "problem": name,
        "seed": seed,
        "step_budget": budget * windows,
        "config": config,
        "steps": result.steps,
        "stop_reason": result.stop_reason.name if result.stop_reason else None,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "metrics": {k: {"rel_l2": v["rel_l2"]} for k, v in validation["metrics"].items()},
        "parameter_errors": {k: {"rel_error": v["rel_error"]} for k, v in validation["parameters"].items()},
        "target": module.TARGET,
        "limit": FACTOR * module.TARGET,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    record["error"] = judged_error(record)
    record["met"] = record["error"] <= record["limit"] and cpu <= LIMIT_S
    return record


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load(path: Path = OUT) -> dict[str, Any]:
    """The stored records (an empty store when there is none)."""
    if not path.exists():
        return {"runs": []}
    return json.loads(path.read_text())


def store(record: dict[str, Any], path: Path = OUT) -> None:
    """Merge one record into the JSON, replacing an earlier run of the same problem and seed
    (a replaced run of another configuration moves to ``superseded``)."""
    with _locked(path):
        data = load(path)
        key = (record["problem"], record["seed"])
        old = [r for r in data["runs"] if (r["problem"], r["seed"]) == key]
        data.setdefault("superseded", []).extend(r for r in old if r.get("config") != record["config"])
        runs = [r for r in data["runs"] if (r["problem"], r["seed"]) != key]
        runs.append(record)
        runs.sort(key=lambda r: (r["problem"], r["seed"]))
        data.update(
            {
                "benchmark": "quick",
                "command": "python -m benchmarks.quick [names] --seeds 0 1 2",
                "factor": FACTOR,
                "limit_cpu_s": LIMIT_S,
                "torch_threads": 1,
                "machine": machine(),
                "versions": versions(),
                "runs": runs,
            }
        )
        path.write_text(json.dumps(data, indent=1) + "\n")


def table(data: dict[str, Any]) -> str:
    """The Markdown table of the stored runs, one row per problem (worst seed shown)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in data["runs"]:
        by.setdefault(r["problem"], []).append(r)
    lines = [
        f"`pinnopt solve NAME --quick` runs the problem's `quick()` configuration: a step budget "
        f"(no time limit), at most {LIMIT_S / 60:.0f} minutes of CPU on one thread, aiming at "
        f"{FACTOR:g} x the problem's target. Error: relative L2 (inverse problems: the fitted "
        "coefficients' relative error); worst and best over the seeds run. Time: whole run "
        "(setup, training, validation), largest over the seeds; wall time on a shared 2-core machine.",
        "",
        "| problem | step budget | seeds | error (worst) | error (best) | 3 x target | met "
        "| CPU time | wall time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(by):
        rs = by[name]
        errs = [r["error"] for r in rs]
        met = all(r["met"] for r in rs)
        lines.append(
            f"| {name} | {rs[0]['step_budget']} | {', '.join(str(r['seed']) for r in rs)} "
            f"| {max(errs):.1e} | {min(errs):.1e} | {rs[0]['limit']:.0e} | {'yes' if met else '**no**'} "
            f"| {max(r['cpu_s'] for r in rs):.0f} s | {max(r['wall_s'] for r in rs):.0f} s |"
        )
    dates = sorted({r["created"][:10] for r in data["runs"]})
    lines += [
        "",
        f"Measured {', '.join(dates)}, torch threads 1. "
        "Rerun: `python -m benchmarks.quick NAME --seeds 0 1 2` (benchmarks/results/quick.json).",
    ]
    return "\n".join(lines) + "\n"


def readme_section(text: str) -> str:
    """The README's text between the quick markers."""
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip("\n") + "\n"


def write_readme(data: dict[str, Any]) -> None:
    text = README.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    README.write_text(text[:start] + "\n" + table(data) + text[end:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="library problems (default: all)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--table", action="store_true", help="print the Markdown of the stored runs")
    ap.add_argument("--write", action="store_true", help="rewrite the README section from the stored runs")
    ap.add_argument("--check", action="store_true", help="exit 1 if the README section is out of date")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.table or args.write or args.check:
        body = table(load())
        if args.check:
            ok = readme_section(README.read_text()) == body
            print("README quick table is up to date" if ok else "README quick table is out of date")
            return 0 if ok else 1
        if args.write:
            write_readme(load())
        else:
            print(body, end="")
        return 0
    torch.set_num_threads(1)
    for name in args.names or problems.names():
        for seed in args.seeds:
            rec = run(name, seed)
            store(rec)
            print(
                f"{name:<18} seed {seed}  error {rec['error']:.2e} (3x target {rec['limit']:.0e}, "
                f"{'met' if rec['met'] else 'MISSED'})  {rec['steps']}/{rec['step_budget']} steps  "
                f"cpu {rec['cpu_s']:.0f} s  wall {rec['wall_s']:.0f} s  {rec['stop_reason']}",
                flush=True,
            )
    write_readme(load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
