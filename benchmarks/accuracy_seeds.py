"""Accuracy over seeds of this checkout against another checkout: is a changed table row noise?

One seed of a library problem's recommended configuration can move by 1.5x when round-off
changes (a new derivative engine, a fused kernel): L-BFGS ends wherever its last line
searches take it. This runs seeds ``0..n-1`` of each named problem with its recommended
configuration, in a fresh subprocess per checkout (one thread), and reports each
checkout's per-seed relative L2 errors (the worst unknown), their medians and the ratio
of medians (this checkout over the baseline).

    git worktree add --detach /tmp/baseline <commit>
    ln -s ../problems /tmp/baseline/pinnopt/problems   # if the checkout needs it
    python -m benchmarks.accuracy_seeds poisson1d neumann --baseline /tmp/baseline [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

HERE = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
import torch
warnings.simplefilter("ignore")
torch.set_num_threads(1)
import pinnopt as po
from pinnopt import problems
name, seeds = sys.argv[2], int(sys.argv[3])
errors = []
for seed in range(seeds):
    kw = problems.recommended(name)
    kw["seed"] = seed
    kw["log_every"] = 10**9
    result = po.solve(problems.get(name), **kw)
    errors.append(max(result.validate().rel_l2.values()))
print(json.dumps(errors))
"""


def errors_of(root: Path, name: str, seeds: int) -> list[float]:
    """Per-seed errors of ``name`` solved by the pinnopt checkout at ``root``."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), name, str(seeds)],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("problems", nargs="+")
    ap.add_argument("--baseline", type=Path, required=True, help="root of the other pinnopt checkout")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--out", default=str(RESULTS / "accuracy_seeds.json"))
    args = ap.parse_args(argv)
    commit = subprocess.run(
        ["git", "-C", str(args.baseline), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    results: dict[str, Any] = {}
    for name in args.problems:
        row: dict[str, Any] = {}
        for arm, root in (("baseline", args.baseline.resolve()), ("this", HERE)):
            errs = errors_of(root, name, args.seeds)
            row[arm] = {"rel_l2": errs, "median": statistics.median(errs)}
        row["ratio_of_medians"] = row["this"]["median"] / row["baseline"]["median"]
        row["ratio_seed0"] = row["this"]["rel_l2"][0] / row["baseline"]["rel_l2"][0]
        results[name] = row
        sys.stdout.write(
            f"{name}: median {row['this']['median']:.2e} vs baseline {row['baseline']['median']:.2e} "
            f"({row['ratio_of_medians']:.2f}x; seed 0 alone {row['ratio_seed0']:.2f}x)\n"
        )
    report = benchmark_report(
        "accuracy_seeds",
        results,
        config={"seeds": args.seeds, "baseline_commit": commit or str(args.baseline)},
        command="python -m benchmarks.accuracy_seeds " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    main()
