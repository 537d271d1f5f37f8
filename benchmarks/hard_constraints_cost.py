"""Per-step cost of exact (hard) Dirichlet conditions: steps/s soft vs hard on 1-D and 2-D Poisson.

Same network (MLP 4 x 32, tanh, float64), same points, same Adam steps, alternating round by
round in one process (:func:`benchmarks.common.interleaved`). Runners:

- ``soft``: the conditions as loss terms, ``AutoEngine`` (Taylor mode, fused path, for the
  order-2 residual; what ``po.solve`` uses by default);
- ``hard``: ``hard_constraints=True`` (``u = g + d N``, the condition terms leave the
  objective), ``AutoEngine``: Taylor mode on the inner network, combined by Leibniz's rule
  (:mod:`pinnopt.symbolic.affine`);
- ``hard_autograd``: hard with ``AutogradEngine`` (reverse-mode autograd through the whole
  model: the path hard constraints took before Taylor mode recognized them);
- ``soft_autograd``: soft with ``AutogradEngine``, which separates the engine's share of the
  difference from the transform's.

    python -m benchmarks.hard_constraints_cost [--rounds 5] [--clock cpu] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.compile.hard import plan_hard_constraints
from pinnopt.nn.taylor import AutoEngine
from pinnopt.symbolic import AutogradEngine, DerivativeEngine
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS, interleaved, median, ratio_summary

DTYPE = torch.float64


def poisson(dim: int) -> po.Problem:
    """-lap u = f on [0, 1]^dim, u = 0 on the whole boundary, exact prod sin(pi x_i)."""
    xs = sp.symbols("x y")[:dim]
    u = sp.Function("u")(*xs)
    exact = sp.Mul(*(sp.sin(sp.pi * c) for c in xs))
    lap = sum(u.diff(c, 2) for c in xs)
    return po.Problem(
        domain=po.Box(xs, [0] * dim, [1] * dim),
        equations=[lap + dim * sp.pi**2 * exact],
        conditions=[po.Dirichlet("boundary", u, 0)],
        exact=exact,
        name=f"poisson{dim}d",
    )


SETUPS: dict[str, dict[str, Any]] = {
    "poisson1d": {"dim": 1, "interior": 256, "boundary": 2, "steps": 100},
    "poisson2d": {"dim": 2, "interior": 2000, "boundary": 100, "steps": 20},
}


def runner(name: str, hard: bool, engine: DerivativeEngine) -> tuple[Callable[[int], None], str]:
    """A Trainer running Adam steps; also the engine that evaluates the residual."""
    cfg = SETUPS[name]
    problem = poisson(cfg["dim"])
    plan = plan_hard_constraints(problem) if hard else None
    skip = plan.enforced if plan is not None else []
    torch.manual_seed(0)
    pinn, _ = build_model(problem, po.nn.MLP(width=32, depth=4), plan)
    pinn = pinn.to(DTYPE)
    gen = torch.Generator().manual_seed(0)
    colloc = po.Collocation(interior=cfg["interior"], boundary=cfg["boundary"])
    points = sample_points(problem, colloc, gen, DTYPE, torch.device("cpu"), skip=skip)
    objective = build_objective(problem, engine, skip=skip).to(DTYPE, torch.device("cpu"))
    used = objective.engine.resolve(pinn, objective.plans["interior"]).name

    def run(steps: int) -> None:
        po.train.Trainer(pinn, objective, points, [po.optim.Adam(steps=steps, lr=1e-3)], log_every=1000).run()

    return run, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "hard_constraints_cost.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    rows = []
    for name, cfg in SETUPS.items():
        runs = {
            "soft": runner(name, False, AutoEngine()),
            "hard": runner(name, True, AutoEngine()),
            "hard_autograd": runner(name, True, AutogradEngine()),
            "soft_autograd": runner(name, False, AutogradEngine()),
        }
        rates = interleaved({k: r for k, (r, _) in runs.items()}, cfg["steps"], args.rounds, clock=clock)
        row = {
            "problem": name,
            "points": {"interior": cfg["interior"], "boundary": cfg["boundary"]},
            "engines": {k: used for k, (_, used) in runs.items()},
            "steps_per_s": {k: median(v) for k, v in rates.items()},
            "rounds": rates,
            "hard_over_soft": ratio_summary(rates, "hard", "soft"),
            "hard_over_soft_autograd": ratio_summary(rates, "hard", "soft_autograd"),
            "hard_over_hard_autograd": ratio_summary(rates, "hard", "hard_autograd"),
        }
        rows.append(row)
        sps = row["steps_per_s"]
        print(
            f"{name}: steps/s soft {sps['soft']:.1f} ({row['engines']['soft']}), hard {sps['hard']:.1f} "
            f"({row['engines']['hard']}), hard_autograd {sps['hard_autograd']:.1f}, soft_autograd "
            f"{sps['soft_autograd']:.1f}; hard/soft {row['hard_over_soft']['median']:.2f}, "
            f"hard/hard_autograd {row['hard_over_hard_autograd']['median']:.2f}, "
            f"hard/soft_autograd {row['hard_over_soft_autograd']['median']:.2f}",
            flush=True,
        )
    command = f"python -m benchmarks.hard_constraints_cost --rounds {args.rounds} --clock {args.clock} "
    command += f"--threads {args.threads}"
    report = benchmark_report("hard_constraints_cost", rows, dtype="float64", command=command)
    print(f"wrote {write_json(report, args.out)}")


if __name__ == "__main__":
    main()
