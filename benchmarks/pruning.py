"""Magnitude pruning of a trained Poisson 1-D network: error versus sparsity.

The library's Poisson 1-D problem is solved with MLP 3 x 32 tanh (Adam 1000 steps at
lr 1e-3, then L-BFGS up to 2000 iterations, 200 interior points, float64). Copies of the
trained network are pruned by global weight magnitude and fine-tuned (Adam, 500 steps,
lr 1e-3, pruned weights held at zero); the relative L2 error on the fixed evaluation grid
is reported before and after fine-tuning.

    python -m benchmarks.pruning [--finetune 500]
"""

from __future__ import annotations

import argparse
from typing import Any

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.report import benchmark_report, write_json
from pinnopt.workflows.prune import format_table, prune_and_finetune

from .common import RESULTS

SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--finetune", type=int, default=500)
    ap.add_argument("--scope", default="global", choices=["global", "layer"])
    args = ap.parse_args(argv)
    collocation = po.Collocation(interior=200, boundary=1)
    result = po.solve(
        problems.get("poisson1d"),
        model=po.nn.MLP(width=32, depth=3),
        phases=[po.optim.Adam(steps=1000, lr=1e-3), po.optim.LBFGS(steps=2000)],
        collocation=collocation,
        log_every=500,
    )
    rows = prune_and_finetune(
        result,
        SPARSITIES,
        phases=[po.optim.Adam(steps=args.finetune, lr=1e-3)],
        scope=args.scope,
        collocation=collocation,
    )
    print(format_table(rows))
    report = benchmark_report(
        "pruning",
        rows,
        config={
            "problem": "poisson1d",
            "model": "MLP 3 x 32 tanh",
            "training": "Adam 1000 @ 1e-3 + L-BFGS 2000, 200 points",
            "fine_tuning": f"Adam {args.finetune} @ 1e-3",
            "scope": args.scope,
            "dtype": "float64",
        },
        command="python -m benchmarks.pruning",
    )
    write_json(report, RESULTS / "pruning.json")
    return report


if __name__ == "__main__":
    main()
