"""Burgers: does L-BFGS keep working after Adam, and how accurate is pinnopt in 5 minutes?

Part 1 (``lbfgs``): the peers' configuration (MLP 3 x 20 tanh, 2540 + 80 + 160 points),
2000 Adam steps at lr 1e-3, then L-BFGS for up to 2000 iterations. Reports the number of
L-BFGS iterations, the stop reason and the loss reduction (DeepXDE's L-BFGS phase stopped
after 4 iterations on this configuration on this machine, per issue 2).

Part 2 (``accuracy``): the library's recommended configuration for Burgers, relative L2
against the Cole-Hopf solution on the 256 x 100 grid over [-1,1] x [0,0.99], wall time.

Part 3 (``minutes5``): the quick configuration (``problems/burgers.py: quick()``, a
600-step budget of Adam then Levenberg-Marquardt with adaptive points; what ``make run``
solves) over seeds 0, 1, 2: its error and its wall time here (issue 2's target: <= 1e-2
within 5 minutes). A step budget gives the same error on a quiet and on a busy machine;
only the wall time depends on the load.

    python -m benchmarks.burgers [lbfgs] [accuracy] [minutes5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.report import benchmark_report, read_json, write_json

from .common import RESULTS


def lbfgs_continuation(adam_steps: int = 2000, lbfgs_steps: int = 2000, seed: int = 0) -> dict:
    problem = problems.get("burgers")
    t0 = time.perf_counter()
    result = po.solve(
        problem,
        model=po.nn.MLP(width=20, depth=3),
        collocation=po.Collocation(interior=2540),
        phases=[po.optim.Adam(steps=adam_steps, lr=1e-3), po.optim.LBFGS(steps=lbfgs_steps)],
        seed=seed,
        log_every=500,
    )
    wall = time.perf_counter() - t0
    loss = result.history.loss
    phase = np.asarray(result.history.phase)
    before = float(loss[phase == 0][-1])
    after = float(loss[-1])
    lb = result.outcome.phases[1]
    return {
        "config": "MLP 3x20 tanh, 2540+80+160 points, float64, Adam 2000 @ 1e-3 then L-BFGS",
        "lbfgs_iterations": lb.steps,
        "lbfgs_function_evaluations": lb.evaluations,
        "lbfgs_stop_reason": lb.reason.name,
        "loss_after_adam": before,
        "loss_after_lbfgs": after,
        "loss_reduction": before / after,
        "rel_l2": result.validate().rel_l2["u"],
        "wall_time_s": wall,
    }


def accuracy(seed: int = 0, quick: bool = False) -> dict:
    problem = problems.get("burgers")
    kwargs = problems.module("burgers").quick() if quick else problems.recommended("burgers")
    t0 = time.perf_counter()
    result = po.solve(problem, seed=seed, log_every=500, **kwargs)
    wall = time.perf_counter() - t0
    v = result.validate()
    return {
        "config": {k: repr(v) for k, v in kwargs.items()},
        "rel_l2": v.rel_l2["u"],
        "max_abs": v.metrics["u"]["max_abs"],
        "eval_points": v.n_points,
        "steps": result.steps,
        "stop_reason": result.stop_reason.name,
        "dtype": v.dtype,
        "wall_time_s": wall,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("parts", nargs="*", default=["lbfgs", "accuracy"])
    args = ap.parse_args(argv)
    out = {}
    if "lbfgs" in args.parts:
        r = out["lbfgs"] = lbfgs_continuation()
        print(
            f"L-BFGS after Adam: {r['lbfgs_iterations']} iterations ({r['lbfgs_function_evaluations']} "
            f"evaluations), stopped {r['lbfgs_stop_reason']}, loss {r['loss_after_adam']:.3e} -> "
            f"{r['loss_after_lbfgs']:.3e} ({r['loss_reduction']:.0f}x), rel L2 {r['rel_l2']:.2e}, "
            f"{r['wall_time_s']:.0f} s"
        )
    if "accuracy" in args.parts:
        r = out["accuracy"] = accuracy()
        print(
            f"Burgers recommended: rel L2 {r['rel_l2']:.2e} ({r['dtype']}) in {r['wall_time_s']:.0f} s, "
            f"{r['steps']} steps, {r['stop_reason']}"
        )
    if "minutes5" in args.parts:
        runs = out["minutes5"] = [{"seed": s, **accuracy(seed=s, quick=True)} for s in (0, 1, 2)]
        for r in runs:
            print(
                f"Burgers quick, seed {r['seed']}: rel L2 {r['rel_l2']:.2e} ({r['dtype']}) in "
                f"{r['wall_time_s']:.0f} s, {r['steps']} steps, {r['stop_reason']}"
            )
    path = RESULTS / "burgers.json"
    if path.exists():  # keep the parts not rerun
        out = {**read_json(path)["results"], **out}
    command = "python -m benchmarks.burgers " + " ".join(args.parts)
    write_json(benchmark_report("burgers", out, command=command), path)
    return out


if __name__ == "__main__":
    main()
