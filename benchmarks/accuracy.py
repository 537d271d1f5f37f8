"""Accuracy table: solve library problems with their recommended configuration.

Writes one report JSON per problem to benchmarks/results/accuracy/<name>.json (the
layout of `pinnopt.validate.report.solve_report`) and prints a table.

    python -m benchmarks.accuracy                 # every library problem
    python -m benchmarks.accuracy burgers heat1d  # some
    python -m benchmarks.accuracy --seeds 0 1 2   # several seeds
"""

from __future__ import annotations

import argparse
import logging

from pinnopt import problems
from pinnopt.validate.report import solve_report, write_json
from pinnopt.workflows.configured import run_configuration

from .common import RESULTS

OUT = RESULTS / "accuracy"


def run(name: str, seed: int = 0) -> dict:
    """Solve one library problem with its recommended settings and write its report."""
    module = problems.module(name)
    problem = module.make_problem()
    kwargs = problems.recommended(name)
    kwargs["seed"] = seed
    result = run_configuration(problem, **kwargs)
    validation = result.validate()
    report = solve_report(
        result,
        validation,
        target_rel_l2=module.TARGET,
        description=module.DESCRIPTION,
        command=f"python -m benchmarks.accuracy {name} --seeds {seed}",
        strategies=sorted(result.config.get("strategies", {})),  # e.g. ["embedding", "marching"]
    )
    suffix = "" if seed == 0 else f"-seed{seed}"
    write_json(report, OUT / f"{name}{suffix}.json")
    return report


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", help="library problems (default: all)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    reports = []
    for name in args.names or problems.names():
        for seed in args.seeds:
            rep = run(name, seed)
            worst = max(m["rel_l2"] for m in rep["metrics"].values())
            ok = "met" if worst <= rep["target_rel_l2"] else "MISSED"
            print(
                f"{name:<14} seed {seed}  rel L2 {worst:.2e} (target {rep['target_rel_l2']:.0e}, {ok})  "
                f"{rep['steps']} steps  {rep['wall_time_s']:.0f} s  {rep['dtype']}  {rep['stop_reason']}"
                + (f"  strategies: {'+'.join(rep['strategies'])}" if rep["strategies"] else ""),
                flush=True,
            )
            reports.append(rep)
    return reports


if __name__ == "__main__":
    main()
