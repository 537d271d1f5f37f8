"""Levenberg-Marquardt configurations against the library's Adam + L-BFGS recommended ones.

    python -m benchmarks.lm_recommended heat1d --seeds 0 1 2
    python -m benchmarks.lm_recommended laplace_disk poisson_lshape --seeds 0 1 2
    python -m benchmarks.lm_recommended --table

For each problem and seed, runs the Adam + L-BFGS configuration the problem recommended
before issue 16 ("adam+lbfgs", kept here verbatim) and a Levenberg-Marquardt configuration
("lm": an Adam warm-up, then ``LevenbergMarquardt`` with a step budget, float64) one after
the other in one process, one thread, the order alternating with the seed, and records
the relative L2 error, the wall time and this process's CPU time of each solve (CPU time is
less sensitive to the other processes on a shared machine). The LM configuration wins a
seed when its error is lower and its CPU time no higher; a problem switches its
``recommended()`` to it when it wins seeds 0, 1 and 2. Rows go to
benchmarks/results/lm_recommended.json (a rerun replaces the rows of the same problem, seed
and run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.workflows.configured import run_configuration

from .common import RESULTS

OUT = RESULTS / "lm_recommended.json"


def _adam_lbfgs(
    width: int,
    depth: int,
    points: tuple[int, int],
    adam: int,
    lr: float,
    lbfgs: int,
    sampler: str = "uniform",
    **kw: Any,
) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        return {
            "model": po.nn.MLP(width=width, depth=depth),
            "collocation": po.Collocation(interior=points[0], boundary=points[1], sampler=sampler),
            "phases": [po.optim.Adam(steps=adam, lr=lr), po.optim.LBFGS(steps=lbfgs)],
            "dtype": "float64",
            **kw,
        }

    return make


BEFORE: dict[str, Callable[[], dict[str, Any]]] = {
    "poisson2d": _adam_lbfgs(32, 3, (2000, 100), 1000, 2e-3, 4000, hard_constraints=True),
    "klein_gordon": _adam_lbfgs(32, 4, (3000, 200), 2000, 1e-3, 3000, hard_constraints="where_possible"),
    "heat1d": _adam_lbfgs(32, 3, (2000, 100), 1000, 2e-3, 2000, hard_constraints=True),
    "laplace_disk": _adam_lbfgs(20, 2, (300, 60), 150, 3e-3, 200, sampler="sobol"),
    "poisson_lshape": _adam_lbfgs(20, 3, (300, 120), 200, 3e-3, 350, sampler="sobol"),
}
"""The recommended configurations before issue 16 (Adam + L-BFGS)."""


def lm_config(name: str) -> dict[str, Any]:
    """The Levenberg-Marquardt configuration tried for ``name``: its ``recommended()`` once the
    problem switched (its phases contain a LevenbergMarquardt), else the candidate below."""
    rec = problems.recommended(name)
    if any(isinstance(p, po.optim.LevenbergMarquardt) for p in rec["phases"]):
        return rec
    return {**rec, **CANDIDATES[name]()}


CANDIDATES: dict[str, Callable[[], dict[str, Any]]] = {
    "laplace_disk": lambda: {
        "phases": [po.optim.Adam(steps=100, lr=3e-3), po.optim.LevenbergMarquardt(steps=25)],
    },
    "poisson_lshape": lambda: {
        "phases": [po.optim.Adam(steps=100, lr=3e-3), po.optim.LevenbergMarquardt(steps=20)],
    },
}
"""LM configurations tried where the problem kept Adam + L-BFGS (they did not win every seed):
options replacing the recommended ones. heat1d, poisson2d and klein_gordon switched; their
``recommended()`` holds the LM configuration."""


def _warm_up(problem: po.Problem, runs: dict[str, dict[str, Any]]) -> None:
    """Two steps of every phase of every run, untimed: the first solve in a process pays
    one-off costs (lazy imports, kernel set-up) of seconds, the whole budget of a small problem."""
    for options in runs.values():
        phases = [dataclasses.replace(p, steps=2) for p in options["phases"]]
        run_configuration(problem, **{**options, "phases": phases, "seed": 0})


def run(name: str, seed: int) -> list[dict[str, Any]]:
    """Both configurations of ``name`` on ``seed``, side by side (after a warm-up)."""
    module = problems.module(name)
    problem = module.make_problem()
    runs = {"adam+lbfgs": BEFORE[name](), "lm": lm_config(name)}
    _warm_up(problem, runs)
    order = list(runs) if seed % 2 == 0 else list(reversed(runs))
    rows = []
    for label in order:
        options = {**runs[label], "seed": seed}
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_configuration(problem, **options)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rel = res.validate().worst_rel_l2
        rows.append(
            {
                "problem": name,
                "seed": seed,
                "run": label,
                "rel_l2": rel,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "steps": res.steps,
                "stop": res.stop_reason.name,
                "phases": [repr(p) for p in options["phases"]],
                "model": repr(options["model"]),
            }
        )
        logging.getLogger("benchmarks").info(
            "%s seed %d %s: rel L2 %.3e, %.1f s CPU, %.1f s wall", name, seed, label, rel, cpu, wall
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per problem and seed, with the winner."""
    lines = [
        "| problem | seed | adam+lbfgs rel L2 (CPU s) | lm rel L2 (CPU s) | lm wins |",
        "|---|---|---|---|---|",
    ]
    keyed = {(r["problem"], r["seed"], r["run"]): r for r in rows}
    for problem, seed in sorted({(r["problem"], r["seed"]) for r in rows}):
        a, b = keyed.get((problem, seed, "adam+lbfgs")), keyed.get((problem, seed, "lm"))
        if a is None or b is None:
            continue
        wins = b["rel_l2"] < a["rel_l2"] and b["cpu_s"] <= a["cpu_s"]
        lines.append(
            f"| {problem} | {seed} | {a['rel_l2']:.2e} ({a['cpu_s']:.1f}) | "
            f"{b['rel_l2']:.2e} ({b['cpu_s']:.1f}) | {'yes' if wins else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=sorted(BEFORE))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--table", action="store_true", help="only print the table of the rows in --out")
    args = parser.parse_args(argv)
    old = json.loads(args.out.read_text())["rows"] if args.out.exists() else []
    if args.table:
        print(table(old))
        return
    unknown = [n for n in args.names if n not in BEFORE]
    if unknown:
        parser.error(f"no Adam + L-BFGS configuration recorded for {unknown}; known: {sorted(BEFORE)}")
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in args.names:
        for seed in args.seeds:
            new = run(name, seed)
            old = json.loads(args.out.read_text())["rows"] if args.out.exists() else []
            keys = {(r["problem"], r["seed"], r["run"]) for r in new}
            old = [r for r in old if (r["problem"], r["seed"], r["run"]) not in keys] + new
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"threads": 1, "rows": old}, indent=2))
    print(table(old))


if __name__ == "__main__":
    main()
