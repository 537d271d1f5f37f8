"""Inverse problems: how well are unknown coefficients recovered?

* ``diffusion_inverse``: u_t = D u_xx, D = 0.1 (initial guess 0.5), 200 observations of u
  with 1 % Gaussian noise; one run per noise seed. Goal: D within 1 %.
* ``lorenz_inverse``: s, r, b of the Lorenz system (10, 15, 8/3; initial guesses 1) from
  observations of the trajectory at 100 times on [0, 3] (scipy solve_ivp reference).
  Goal: all three within 2 %.

Each run reports the fitted values, their relative errors, the relative L2 error of the
states against the reference, and the parameter history (every 100th step).

    python -m benchmarks.inverse [--seeds 0 1 2] [--only diffusion lorenz]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

DIFFUSION = problems.module("diffusion_inverse")
LORENZ = problems.module("lorenz_inverse")

GOALS = {"diffusion_inverse": 1e-2, "lorenz_inverse": 2e-2}


def run(name: str, problem: po.Problem, config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Solve and collect fitted parameters, errors and histories."""
    t0 = time.perf_counter()
    result = po.solve(problem, seed=seed, log_every=500, **config)
    wall = time.perf_counter() - t0
    v = result.validate()
    history = result.parameter_history or {}
    thin = {k: [*v_[::100].tolist(), v_[-1].item()] for k, v_ in history.items()}
    errors = {k: p["rel_error"] for k, p in v.parameters.items()}
    return {
        "problem": name,
        "seed": seed,
        "fitted": {k: p["fitted"] for k, p in v.parameters.items()},
        "exact": {k: p["exact"] for k, p in v.parameters.items()},
        "rel_error": errors,
        "max_rel_error": max(errors.values()),
        "goal": GOALS[name],
        "met": max(errors.values()) <= GOALS[name],
        "state_rel_l2": v.rel_l2,
        "steps": result.steps,
        "stop_reason": result.stop_reason.name if result.stop_reason else None,
        "wall_time_s": wall,
        "history_every_100": thin,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="noise seeds (diffusion)")
    parser.add_argument("--only", nargs="+", default=["diffusion", "lorenz"])
    parser.add_argument("--out", default=str(RESULTS / "inverse.json"))
    args = parser.parse_args()
    runs = []
    if "diffusion" in args.only:
        config = {
            "model": po.nn.MLP(width=20, depth=3),
            "collocation": po.Collocation(interior=500, boundary=50, sampler="sobol"),
            "phases": [po.optim.Adam(steps=500, lr=3e-3), po.optim.LBFGS(steps=1500)],
            "dtype": "float64",
        }
        for seed in args.seeds:
            problem = DIFFUSION.make_problem(n_obs=200, noise=0.01, seed=seed)
            runs.append(run("diffusion_inverse", problem, config, seed=0))
            runs[-1]["noise_seed"] = seed
            _print(runs[-1])
    if "lorenz" in args.only:
        runs.append(run("lorenz_inverse", LORENZ.make_problem(), LORENZ.recommended(), seed=0))
        _print(runs[-1])
    report = benchmark_report(
        "inverse",
        runs,
        dtype="float64",
        command="python -m benchmarks.inverse --seeds "
        + " ".join(map(str, args.seeds))
        + " --only "
        + " ".join(args.only),
    )
    print(f"wrote {write_json(report, args.out)}")


def _print(r: dict[str, Any]) -> None:
    fitted = ", ".join(
        f"{k} = {r['fitted'][k]:.5g} (exact {r['exact'][k]:.5g}, {100 * r['rel_error'][k]:.3f} %)"
        for k in r["fitted"]
    )
    print(
        f"{r['problem']:18s} seed {r.get('noise_seed', r['seed'])}: {fitted}; goal {100 * r['goal']:.0f} % "
        f"{'met' if r['met'] else 'MISSED'}; states rel L2 "
        + ", ".join(f"{k} {e:.2e}" for k, e in r["state_rel_l2"].items())
        + f"; {r['steps']} steps, {r['wall_time_s']:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
