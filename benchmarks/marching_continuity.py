"""Allen-Cahn time-marching with soft against exact continuity: error over time.

    python -m benchmarks.marching_continuity soft   # about 15 minutes on one core
    python -m benchmarks.marching_continuity exact

Both runs use the same windows (10), network (64x4 tanh with the periodic embedding),
points (4096) and steps (Adam 300 + L-BFGS 600 per window), float64, seed 0. ``soft`` keeps
the initial and continuity conditions as loss terms; ``exact`` enforces them
(``hard_constraints=True``). The record holds the relative L2 error on the evaluation grid
over all times and at t = 0, 0.1, ..., 1, which shows how the windows' start misfit grows
(Allen-Cahn's ``u = 0`` is unstable). Results: benchmarks/results/marching_continuity.json
(each mode's latest run is kept).
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np
from pinnopt.problems import allen_cahn as ac

import pinnopt as po
from pinnopt.validate.report import benchmark_report, read_json, write_json

from .common import RESULTS

OUT = RESULTS / "marching_continuity.json"


def run(mode: str, seed: int = 0) -> dict[str, Any]:
    """One march in ``mode`` ("soft" or "exact"); its errors over time and its wall time."""
    problem = ac.make_problem()
    ac.reference()  # computed once, outside the timed solve
    t0 = time.perf_counter()
    result = po.march(
        problem,
        po.Marching(windows=10),
        model=po.nn.MLP(width=64, depth=4, embedding=po.nn.PeriodicEmbedding(("x",))),
        collocation=po.Collocation(interior=4096, boundary=256),
        phases=[po.optim.Adam(steps=300, lr=2e-3), po.optim.LBFGS(steps=600)],
        dtype="float64",
        hard_constraints=mode == "exact",
        seed=seed,
    )
    wall = time.perf_counter() - t0
    grid = ac.evaluation_grid()
    ref = ac.exact(grid)
    err = result.predict(grid)["u"] - ref
    by_time = {}
    for t in np.round(np.linspace(0.0, 1.0, 11), 10):
        at = np.isclose(grid[:, 1], t)
        by_time[f"{t:.1f}"] = float(np.linalg.norm(err[at]) / np.linalg.norm(ref[at]))
    return {
        "mode": mode,
        "seed": seed,
        "rel_l2": float(np.linalg.norm(err) / np.linalg.norm(ref)),
        "rel_l2_by_time": by_time,
        "wall_time_s": wall,
        "steps": int(result.steps),
        "command": f"python -m benchmarks.marching_continuity {mode}",
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modes", nargs="+", choices=["soft", "exact"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    runs = []
    for mode in args.modes:
        rec = run(mode)
        runs.append(rec)
        profile = "  ".join(f"t={t} {e:.1e}" for t, e in rec["rel_l2_by_time"].items())
        print(f"{mode:<6} rel L2 {rec['rel_l2']:.2e}  {rec['wall_time_s']:.0f} s\n  {profile}", flush=True)
    if OUT.exists():  # keep the other mode's latest run (read now: runs may overlap)
        runs = [r for r in read_json(OUT)["results"]["runs"] if r["mode"] not in args.modes] + runs
    report = benchmark_report("marching_continuity", {"problem": "allen_cahn", "runs": runs})
    write_json(report, OUT)
    return report


if __name__ == "__main__":
    main()
