"""The worked example of docs/sweeps.md: a sweep of poisson1d around its recommended configuration.

Twelve trials over the first phase's learning rate, the network's width, depth and
initialization, the interior points and the split of the 1,500-step budget between Adam and
L-BFGS, all with seed 0; the recommended configuration is solved once with the same seed
for comparison (``baseline=True``). Objective: relative L2 error on the evaluation grid.

    python -m benchmarks.sweep      # writes benchmarks/results/sweep.json and runs/poisson1d-sweep-doc/
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import torch
from pinnopt.problems import poisson1d

import pinnopt as po
from pinnopt.validate.report import benchmark_report, write_json
from pinnopt.workflows import Choice, Float, Int

from .common import RESULTS

OUT = RESULTS / "sweep.json"
RUN = Path("runs/poisson1d-sweep-doc")

SPACE = {
    "lr": Float(1e-4, 1e-2, log=True),
    "width": Int(10, 40),
    "depth": Int(2, 4),
    "init": Choice(["GlorotNormal", "KaimingNormal"]),
    "points": Int(100, 400, log=True),
    "phases": Choice(
        [
            [po.optim.Adam(steps=500), po.optim.LBFGS(steps=1000)],
            [po.optim.Adam(steps=1000), po.optim.LBFGS(steps=500)],
        ],
        labels=["adam500+lbfgs1000", "adam1000+lbfgs500"],
    ),
}


def main(trials: int = 12) -> dict[str, Any]:
    torch.set_num_threads(1)
    if RUN.exists():
        shutil.rmtree(RUN)  # a fresh study each time (the SQLite file lives in the run folder)
    t0 = time.perf_counter()
    sweep = po.sweep(
        poisson1d.make_problem(), SPACE, trials=trials, base=poisson1d.recommended(), out=RUN, baseline=True
    )
    wall = time.perf_counter() - t0
    best = sweep.best
    again = sweep.solve_best()
    results = {
        "trials": {s: sum(t.state == s for t in sweep.trials) for s in ("complete", "pruned", "failed")},
        "best_trial": None if best is None else best.number,
        "best_rel_l2": None if best is None else best.value,
        "best_params": None if best is None else dict(best.params),
        "best_config": None if best is None else best.config,
        "baseline_rel_l2": sweep.baseline["value"] if sweep.baseline else None,
        "solve_best_rel_l2": again.validate().worst_rel_l2,
        "wall_time_s": wall,
        "table": [
            {
                "number": t.number,
                "state": t.state,
                "value": t.value,
                "params": dict(t.params),
                "reason": t.reason,
            }
            for t in sweep.trials
        ],
    }
    write_json(benchmark_report("sweep", results, command="python -m benchmarks.sweep"), OUT)
    print((RUN / "trials.md").read_text())
    print(
        f"best {results['best_rel_l2']:.3e} (trial {results['best_trial']}), "
        f"base {results['baseline_rel_l2']:.3e}"
    )
    return results


if __name__ == "__main__":
    main()
