"""Hard versus soft Dirichlet / initial conditions: same problem, network, points, budget, seed.

For each library problem the same configuration is trained twice: with the conditions as
loss terms (soft) and with ``hard_constraints="where_possible"`` (u = g + d N; enforced terms
leave the objective; derivative conditions such as u_t(t=0) and periodic pairs stay soft).
Reported: relative L2 error on the problem's grid (float64), which terms were enforced, and
the largest violation of the enforced values on 1000 side points.

    python -m benchmarks.hard_constraints [--problems wave poisson1d periodic_advection burgers] [--seeds 0]

Burgers uses a reduced configuration (MLP 4 x 20, 2000 interior points, Adam 1000 + L-BFGS
3000), in which training succeeds or not depending on the seed, soft or hard alike; run it
with several seeds (``--problems burgers --seeds 0 1 2``) before drawing conclusions.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

BURGERS_REDUCED = {
    "model": po.nn.MLP(width=20, depth=4),
    "collocation": po.Collocation(interior=2000, boundary=100),
    "phases": [po.optim.Adam(steps=1000, lr=1e-3), po.optim.LBFGS(steps=3000)],
    "dtype": "float64",
}


def side_violation(result: po.Result, problem: po.Problem, names: list[str]) -> float:
    """Largest |u - value| of the enforced conditions at 1000 random points of their sides."""
    worst = 0.0
    g = torch.Generator().manual_seed(0)
    for spec in problem.terms:
        if spec.name not in names:
            continue
        pts = spec.region.sample(1000, g, torch.float64, torch.device("cpu"))
        values = result.predict(pts.numpy(), derivatives=[spec.expr.expr])[str(spec.expr.expr)]
        worst = max(worst, float(np.abs(values).max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problems", nargs="+", default=["wave", "poisson1d", "periodic_advection", "burgers"]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default=str(RESULTS / "hard_constraints.json"))
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for name, seed in ((n, s) for n in args.problems for s in args.seeds):
        problem = problems.get(name)
        config = BURGERS_REDUCED if name == "burgers" else problems.recommended(name)
        config = {k: v for k, v in config.items() if k != "hard_constraints"}  # set per mode below
        row: dict[str, Any] = {"problem": name, "seed": seed}
        for mode in ("soft", "hard"):
            t0 = time.perf_counter()
            hard = "where_possible" if mode == "hard" else False  # some keep soft u_t or periodic terms
            result = po.solve(problem, hard_constraints=hard, seed=seed, log_every=500, **config)
            enforced = result.config.get("hard_constraints", [])
            row[mode] = {
                "rel_l2": max(result.validate().rel_l2.values()),
                "steps": result.steps,
                "wall_time_s": time.perf_counter() - t0,
            }
            if mode == "hard":
                row["enforced"] = enforced
                row["soft_terms"] = result.config["hard_constraints_detail"]["soft"]
                row["hard"]["max_violation_enforced"] = side_violation(result, problem, enforced)
        row["hard_not_worse"] = row["hard"]["rel_l2"] <= row["soft"]["rel_l2"]
        rows.append(row)
        print(
            f"{name:20s} seed {seed}  soft {row['soft']['rel_l2']:.3e}  hard {row['hard']['rel_l2']:.3e}  "
            f"enforced {row['enforced']}  max violation {row['hard']['max_violation_enforced']:.1e}",
            flush=True,
        )
    report = benchmark_report(
        "hard_constraints",
        rows,
        dtype="float64",
        command="python -m benchmarks.hard_constraints --problems "
        + " ".join(args.problems)
        + " --seeds "
        + " ".join(map(str, args.seeds)),
    )
    print(f"wrote {write_json(report, args.out)}")


if __name__ == "__main__":
    main()
