"""Does residual-based adaptive sampling help? Burgers, equal step budgets, several seeds.

Three strategies on the Burgers problem of the library (nu = 0.01/pi, Cole-Hopf exact
solution), float64, the same network, phases and final number of interior points:

* ``uniform``: ``N`` uniform random interior points, drawn once;
* ``rar``: ``N - m a`` uniform points, plus the ``a`` points of largest residual (out of
  10 000 uniform candidates) at each of ``m`` refinements (RAR);
* ``rad``: ``N`` points redrawn at each of ``m`` refinements from 10 000 candidates with
  probability ``r^k / mean(r^k) + c`` (RAD, default k = 1, c = 1).

Training is Adam, then ``m`` L-BFGS phases of ``K`` steps each, for every strategy (equal
step budgets); refinements happen at the end of Adam and between the L-BFGS phases, so each
L-BFGS phase starts afresh on a fixed point set. The report gives the relative L2 error on
the problem's 256 x 100 grid per seed, and the median, min and max over seeds.

    python -m benchmarks.adaptive_sampling [--seeds 0 1 2] [--adam 1000] [--cycles 4] [--cycle 750]

Variants kept in ``benchmarks/results/``: ``--cycles 8 --cycle 375 --add 50``
(``adaptive_sampling_8cycles.json``) and ``--strategies rad --rad-k 2 --rad-c 0``
(``adaptive_sampling_rad_k2_c0.json``). With 1000 points Burgers training succeeds or fails
by seed; read the spread, not only the median.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.losses.hooks import TrainingHook
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS


def run_one(strategy: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train one configuration; return its error, final point count and time."""
    n, k, m = args.points, args.cycle, args.cycles
    add = args.add
    interior = n - m * add if strategy == "rar" else n
    last = args.adam + (m - 1) * k  # refinements at the end of Adam and of each L-BFGS phase but the last
    hooks: list[TrainingHook] = []
    if strategy == "rar":
        hooks.append(po.sample.RAR(every=k, add=add, candidates=10000, start=args.adam, until=last))
    elif strategy == "rad":
        hooks.append(
            po.sample.RAD(every=k, k=args.rad_k, c=args.rad_c, candidates=10000, start=args.adam, until=last)
        )
    t0 = time.perf_counter()
    result = po.solve(
        problems.get("burgers"),
        model=po.nn.MLP(width=args.width, depth=args.depth),
        collocation=po.Collocation(interior=interior, boundary=100),
        phases=[po.optim.Adam(steps=args.adam, lr=1e-3)] + [po.optim.LBFGS(steps=k) for _ in range(m)],
        dtype="float64",
        seed=seed,
        strategies=hooks,
        log_every=500,
    )
    wall = time.perf_counter() - t0
    err = result.validate().rel_l2["u"]
    return {
        "strategy": strategy,
        "seed": seed,
        "rel_l2": err,
        "interior_points": result.config["collocation"]["interior"],
        "steps": result.steps,
        "stop_reason": result.stop_reason.name if result.stop_reason else None,
        "wall_time_s": wall,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median, min and max relative L2 per strategy."""
    out = {}
    for strategy in dict.fromkeys(r["strategy"] for r in runs):
        errs = [r["rel_l2"] for r in runs if r["strategy"] == strategy]
        out[strategy] = {
            "median": statistics.median(errs),
            "min": min(errs),
            "max": max(errs),
            "n": len(errs),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=["uniform", "rar", "rad"])
    parser.add_argument("--points", type=int, default=1000, help="final number of interior points")
    parser.add_argument("--add", type=int, default=100, help="RAR points per refinement")
    parser.add_argument("--adam", type=int, default=1000, help="Adam steps before the first refinement")
    parser.add_argument("--cycles", type=int, default=4, help="refinements = L-BFGS phases")
    parser.add_argument("--cycle", type=int, default=750, help="L-BFGS steps per phase")
    parser.add_argument("--rad-k", type=float, default=1.0, help="RAD residual exponent")
    parser.add_argument("--rad-c", type=float, default=1.0, help="RAD uniform floor")
    parser.add_argument("--width", type=int, default=20)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--out", default=str(RESULTS / "adaptive_sampling.json"))
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    runs = []
    for seed in args.seeds:
        for strategy in args.strategies:
            r = run_one(strategy, seed, args)
            runs.append(r)
            print(
                f"{strategy:8s} seed {seed}: rel L2 {r['rel_l2']:.3e}  points {r['interior_points']:5d}  "
                f"steps {r['steps']:5d}  {r['wall_time_s']:.0f} s",
                flush=True,
            )
    summary = summarize(runs)
    print(f"\n{'strategy':10s} {'median':>10s} {'min':>10s} {'max':>10s}")
    for name, s in summary.items():
        print(f"{name:10s} {s['median']:10.3e} {s['min']:10.3e} {s['max']:10.3e}")
    config = {k: v for k, v in vars(args).items() if k != "out"}
    report = benchmark_report(
        "adaptive_sampling",
        {"runs": runs, "summary": summary},
        problem="burgers",
        dtype="float64",
        config=config,
        command="python -m benchmarks.adaptive_sampling "
        + " ".join(f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in config.items()),
    )
    print(f"wrote {write_json(report, args.out)}")


if __name__ == "__main__":
    main()
