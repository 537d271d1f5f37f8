"""Each optimizer phase (and Adam then L-BFGS) on Poisson 1-D, float64: accuracy and cost.

The long version of ``tests/test_train_phases.py``: the same optimizers and batching
strategies run for thousands of steps on ``poisson1d`` (MLP 3 x 20 tanh, 200 interior
points), and the table reports the relative L2 error against the exact solution on the
problem's fixed grid, the loss reduction, the steps taken and why each run stopped.

    python -m benchmarks.trainer_phases [--scale 1.0] [--only adam_lbfgs adam]
"""

from __future__ import annotations

import argparse
import time

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS


def configurations(scale: float) -> dict[str, list[po.train.Phase]]:
    """The phase lists compared (``scale`` multiplies every step budget)."""

    def n(steps: int) -> int:
        return max(1, round(steps * scale))

    cos = po.optim.CosineDecay(0.01)
    return {
        "adam_lbfgs": [po.optim.Adam(n(500), lr=1e-3), po.optim.LBFGS(n(1000))],
        "lbfgs": [po.optim.LBFGS(n(1500))],
        "adam_cosine": [po.optim.Adam(n(5000), lr=3e-3, schedule=po.optim.Warmup(100, then=cos))],
        "adamw": [po.optim.AdamW(n(5000), lr=3e-3, weight_decay=1e-4, schedule=cos)],
        "adam_minibatch32": [po.optim.Adam(n(5000), lr=3e-3, batch=po.optim.MiniBatch(32), schedule=cos)],
        "momentum": [po.optim.Momentum(n(5000), lr=1e-3, schedule=cos)],
        "sgd_minibatch32": [po.optim.SGD(n(5000), lr=2e-3, batch=po.optim.MiniBatch(32), schedule=cos)],
        "gd_full_batch": [po.optim.SGD(n(5000), lr=2e-3, schedule=cos)],
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every step budget")
    ap.add_argument("--only", nargs="*", default=None, help="run only these configurations")
    args = ap.parse_args(argv)
    problem = problems.get("poisson1d")
    results = {}
    print(f"{'configuration':<18} {'rel L2':>10} {'loss ratio':>11} {'steps':>6} {'time s':>7}  stop")
    for name, phases in configurations(args.scale).items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        result = po.solve(
            problem,
            model=po.nn.MLP(width=20, depth=3),
            collocation=po.Collocation(interior=200, boundary=1),
            phases=phases,
            dtype="float64",
            runtime=po.Runtime(progress=False),
        )
        wall = time.perf_counter() - t0
        loss = result.history.loss
        rel = result.validate().rel_l2["u"]
        results[name] = {
            "phases": [repr(p) for p in phases],
            "rel_l2": rel,
            "first_loss": float(loss[0]),
            "final_loss": float(loss[-1]),
            "steps": result.steps,
            "wall_time_s": wall,
            "stop_reason": result.stop_reason.name,
        }
        print(
            f"{name:<18} {rel:>10.2e} {loss[0] / loss[-1]:>11.2e} {result.steps:>6} {wall:>7.1f}  "
            f"{result.stop_reason.name}"
        )
    report = benchmark_report(
        "trainer_phases",
        results,
        config={"problem": "poisson1d", "model": "MLP 3x20 tanh", "points": "200+1+1", "dtype": "float64"},
        command="python -m benchmarks.trainer_phases --scale " + str(args.scale),
    )
    write_json(report, RESULTS / "trainer_phases.json")
    return report


if __name__ == "__main__":
    main()
