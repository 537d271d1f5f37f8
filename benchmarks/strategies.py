"""Training strategies on the hard problems: what each configuration buys, over seeds.

For each problem, ``plain`` is a standard PINN (no periodic embedding, the periodicity as a
soft loss term, no strategy), ``plain_inflow`` the same network given the exact side values
as Dirichlet data instead (an easier problem: inflow data from the solution), and
``recommended`` the problem's recommended configuration (``problems/<name>.py``: periodic
embedding plus strategies); other rows are ablations.
Every run is validated on the problem's fixed grid (relative L2, the dtype is stated) and
timed; the JSON records each run's strategies (``Result.config["strategies"]``).

    python -m benchmarks.strategies convection                      # plain + recommended, seeds 0 1 2
    python -m benchmarks.strategies allen_cahn --seeds 0
    python -m benchmarks.strategies convection --configs embedding causal curriculum --seeds 0
    python -m benchmarks.strategies imbalance      # the two-term gradient test, every balancer

Results go to benchmarks/results/strategies_<problem>.json (merged with earlier runs of
other configurations).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from pinnopt.problems import allen_cahn as ac
from pinnopt.problems import convection as cv

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.report import benchmark_report, read_json, write_json
from pinnopt.workflows.configured import run_configuration

from .common import RESULTS

Config = Callable[[], tuple[po.Problem, dict[str, Any]]]


def _plain(module: Any, inflow: bool = False, dtype: str = "float64") -> Config:
    """A standard PINN for ``module``'s problem: soft periodicity, or exact side values (inflow)."""

    def make() -> tuple[po.Problem, dict[str, Any]]:
        return module.make_problem(dirichlet=inflow, periodic=not inflow), {
            "model": po.nn.MLP(width=48, depth=3),
            "collocation": po.Collocation(interior=4096, boundary=256),
            "phases": [po.optim.Adam(steps=2000, lr=1e-3), po.optim.LBFGS(steps=5000)],
            "dtype": dtype,
        }

    return make


def _plain_small(module: Any) -> Config:
    """A plain PINN of the size common in the failure-mode literature (Krishnapriyan et al.
    2021): 4 x 50 tanh, 1000 residual points, soft periodicity, L-BFGS only, float32."""

    def make() -> tuple[po.Problem, dict[str, Any]]:
        return module.make_problem(periodic=True), {
            "model": po.nn.MLP(width=50, depth=4),
            "collocation": po.Collocation(interior=1000, boundary=100),
            "phases": [po.optim.LBFGS(steps=5000)],
            "dtype": "float32",
        }

    return make


def _ablation(name: str, problem: Callable[[], po.Problem], **changes: Any) -> Config:
    def make() -> tuple[po.Problem, dict[str, Any]]:
        kwargs = problems.recommended(name)
        for key in ("strategies", "marching"):
            kwargs.pop(key, None)
        kwargs.update(changes)
        return problem(), kwargs

    return make


CONFIGS: dict[str, dict[str, Config]] = {
    "convection": {
        "plain": _plain(cv),
        "plain_inflow": _plain(cv, inflow=True),
        "recommended": lambda: (cv.make_problem(), problems.recommended("convection")),
        "embedding": _ablation("convection", cv.make_problem),
        "causal": _ablation(
            "convection", cv.make_problem, marching=None, strategies=[po.balance.Causal(slabs=16, eps=1.0)]
        ),
        "curriculum": _ablation(
            "convection",
            cv.make_problem,
            marching=None,
            strategies=[po.optim.Curriculum(sp.Symbol("beta"), 1.0)],
        ),
        "plain_float32": _plain(cv, dtype="float32"),
        "plain_small": _plain_small(cv),
        "embedding_long": _ablation(
            "convection",
            cv.make_problem,
            marching=None,
            collocation=po.Collocation(interior=4096, boundary=256),
            phases=[po.optim.Adam(steps=2000, lr=1e-3), po.optim.LBFGS(steps=5000)],
        ),
    },
    "allen_cahn": {
        "plain": _plain(ac),
        "plain_inflow": _plain(ac, inflow=True),
        "recommended": lambda: (ac.make_problem(), problems.recommended("allen_cahn")),
        "embedding": _ablation("allen_cahn", ac.make_problem),
        "marching": _ablation(
            "allen_cahn",
            ac.make_problem,
            marching=po.Marching(windows=10),
            collocation=po.Collocation(interior=4096, boundary=256),
            phases=[po.optim.Adam(steps=300, lr=2e-3), po.optim.LBFGS(steps=1000)],
            dtype="float64",
            hard_constraints=False,  # soft initial and continuity conditions
        ),
        "causal": _ablation(
            "allen_cahn",
            ac.make_problem,
            strategies=[po.balance.Causal(slabs=32, eps=(1.0, 10.0, 100.0))],
            phases=[po.optim.Adam(steps=8000, lr=1e-3, schedule=po.optim.ExponentialDecay(0.9, every=1000))],
            dtype="float32",
            hard_constraints=False,
        ),
    },
}


def _wall(result: Any) -> float:
    windows = getattr(result, "windows", None)
    if windows is not None:
        return float(sum(w.outcome.wall_time_s for w in windows if w.outcome is not None))
    return float(result.outcome.wall_time_s)


def run_one(problem_name: str, config: str, seed: int) -> dict[str, Any]:
    """Solve one configuration with one seed; return its record."""
    problem, kwargs = CONFIGS[problem_name][config]()
    kwargs = {**kwargs, "seed": seed}
    if problem_name == "allen_cahn":
        ac.reference()  # computed once, outside the timed solve
    t0 = time.perf_counter()
    result = run_configuration(problem, **kwargs)
    total = time.perf_counter() - t0
    validation = result.validate()
    cfg = result.config
    return {
        "config": config,
        "seed": seed,
        "rel_l2": float(validation.rel_l2["u"]),
        "max_abs": float(validation.metrics["u"]["max_abs"]),
        "dtype": validation.dtype,
        "wall_time_s": total,
        "train_time_s": _wall(result),
        "steps": int(result.steps),
        "strategies": cfg.get("strategies", {}),
        "hard_constraints": bool(cfg.get("hard_constraints")),
        "settings": {k: repr(v) for k, v in kwargs.items()},
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, min and max relative L2 and wall time per configuration."""
    out: dict[str, Any] = {}
    for config in dict.fromkeys(r["config"] for r in runs):
        rows = [r for r in runs if r["config"] == config]
        errs = np.array([r["rel_l2"] for r in rows])
        walls = np.array([r["wall_time_s"] for r in rows])
        out[config] = {
            "seeds": [r["seed"] for r in rows],
            "rel_l2_mean": float(errs.mean()),
            "rel_l2_min": float(errs.min()),
            "rel_l2_max": float(errs.max()),
            "wall_time_s_max": float(walls.max()),
            "dtype": rows[0]["dtype"],
            "strategies": rows[0]["strategies"],
            "hard_constraints": bool(rows[0].get("hard_constraints")),
        }
    return out


def imbalance() -> list[dict[str, Any]]:
    """The two-term problem of tests/test_strategies_balancing.py with every balancer."""
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[30 * (u.diff(x) - 2 * x)],
        conditions=[po.On(sp.Eq(x, 0), u - 1)],
        exact=1 + x**2,
        name="imbalanced",
    )
    rows = []
    for balance in (
        None,
        po.balance.LRAnnealing(),
        po.balance.GradNorm(),
        po.balance.NTKWeights(every=50),
        po.balance.ReLoBRaLo(),
        po.balance.SelfAdaptive(lr=0.05),
    ):
        for seed in (0, 1, 2):
            result = po.solve(
                problem,
                model=po.nn.MLP(width=16, depth=2),
                collocation=po.Collocation(interior=64, boundary=1),
                phases=[po.optim.Adam(300, lr=1e-2)],
                strategies=[balance],
                seed=seed,
                log_every=100,
            )
            rows.append(
                {
                    "config": type(balance).__name__ if balance is not None else "equal weights",
                    "seed": seed,
                    "rel_l2": float(result.validate().rel_l2["u"]),
                    "dtype": "float64",
                    "wall_time_s": float(result.outcome.wall_time_s),
                    "strategies": result.config.get("strategies", {}),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("problem", choices=[*CONFIGS, "imbalance"])
    ap.add_argument("--configs", nargs="+", default=["plain", "recommended"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    out = RESULTS / f"strategies_{args.problem}.json"
    command = "python -m benchmarks.strategies " + " ".join(argv if argv is not None else _argv())
    if args.problem == "imbalance":
        runs = imbalance()
    else:
        runs = []
        for config in args.configs:
            for seed in args.seeds:
                rec = run_one(args.problem, config, seed)
                rec["command"] = command
                runs.append(rec)
                print(
                    f"{args.problem:<11} {config:<12} seed {seed}  rel L2 {rec['rel_l2']:.2e}  "
                    f"{rec['wall_time_s']:.0f} s  {rec['steps']} steps  {rec['dtype']}",
                    flush=True,
                )
    if out.exists() and args.problem != "imbalance":  # keep other configurations' earlier runs
        kept = [r for r in read_json(out)["results"]["runs"] if r["config"] not in args.configs]
        runs = kept + runs
    summary = summarize(runs)
    report = benchmark_report("strategies", {"problem": args.problem, "runs": runs, "summary": summary})
    write_json(report, out)
    print(f"\n{'configuration':<16} {'rel L2 mean':>12} {'min':>10} {'max':>10} {'max wall s':>11}  dtype")
    for config, s in summary.items():
        print(
            f"{config:<16} {s['rel_l2_mean']:>12.2e} {s['rel_l2_min']:>10.2e} {s['rel_l2_max']:>10.2e} "
            f"{s['wall_time_s_max']:>11.0f}  {s['dtype']}"
        )
    print(f"\nwritten {out}")
    return report


def _argv() -> list[str]:
    import sys

    return sys.argv[1:]


if __name__ == "__main__":
    main()
