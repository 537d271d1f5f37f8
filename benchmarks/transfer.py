"""Transfer learning: warm-start a heat problem from a solved one with a different diffusivity.

u_t = k u_xx on x in [0, 1], t in [0, 1], u(0, t) = u(1, t) = 0, u(x, 0) = sin(pi x); exact
u = exp(-k pi^2 t) sin(pi x). The source problem (k = 0.1) is solved first; the target
(k = 0.15) is then trained from scratch (cold) and from the source's weights (warm,
``po.init.Transfer``), with the same seed, points, optimizer and step budget. The relative
L2 error against the exact solution (float64, fixed 101 x 101 grid) is recorded every
``--every`` steps; the benchmark reports the step at which each run first reaches the cold
start's final error.

    python -m benchmarks.transfer [--steps 3000] [--source-steps 3000] [--freeze]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import sympy as sp
import torch

import pinnopt as po
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

X, T = sp.symbols("x t")
LEVELS = (3e-2, 1e-2, 5e-3)
"""Fixed error levels whose first-reaching steps are reported too (Adam's error oscillates)."""


def heat(k: float) -> po.Problem:
    """The heat problem with diffusivity ``k`` and its exact solution."""
    u = sp.Function("u")(X, T)
    kk = sp.Float(k)
    return po.Problem(
        domain=po.Interval(X, 0, 1) * po.Interval(T, 0, 1),
        equations=[u.diff(T) - kk * u.diff(X, 2)],
        conditions=[
            po.On(sp.Eq(X, 0), u),
            po.On(sp.Eq(X, 1), u),
            po.On(sp.Eq(T, 0), u - sp.sin(sp.pi * X)),
        ],
        exact=sp.exp(-kk * sp.pi**2 * T) * sp.sin(sp.pi * X),
        name=f"heat_k{k:g}",
    )


class ErrorTrace:
    """A solve callback recording the relative L2 error on the problem's grid every ``every`` steps."""

    def __init__(self, problem: po.Problem, every: int) -> None:
        pts = problem.evaluation_points()
        self.x = torch.as_tensor(pts, dtype=torch.float64)
        self.ref = problem.exact_solution(pts)["u"]
        self.every = every
        self.steps: list[int] = []
        self.errors: list[float] = []

    def __call__(self, view: Any, step: int) -> None:
        if step % self.every:
            return
        pred = view.predict(self.x)[:, 0].numpy()
        self.steps.append(step)
        self.errors.append(float(np.linalg.norm(pred - self.ref) / np.linalg.norm(self.ref)))

    def first_step_below(self, level: float) -> int | None:
        """The first recorded step whose error is at most ``level``."""
        return next((s for s, e in zip(self.steps, self.errors, strict=True) if e <= level), None)


def run(
    *,
    k_source: float = 0.1,
    k_target: float = 0.15,
    source_steps: int = 3000,
    steps: int = 3000,
    lr: float = 1e-3,
    width: int = 32,
    depth: int = 3,
    interior: int = 1000,
    boundary: int = 100,
    every: int = 25,
    freeze: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Solve the source, then cold- and warm-start the target; return errors and step counts."""
    collocation = po.Collocation(interior=interior, boundary=boundary)
    spec = po.nn.MLP(width=width, depth=depth)
    t0 = time.perf_counter()
    source = po.solve(
        heat(k_source),
        model=spec,
        phases=[po.optim.Adam(steps=source_steps, lr=lr)],
        collocation=collocation,
        seed=seed,
        log_every=500,
    )
    source_error = source.validate().rel_l2["u"]
    t_source = time.perf_counter() - t0
    traces = {}
    times = {}
    target = heat(k_target)
    warm_spec = po.nn.MLP(
        width=width,
        depth=depth,
        init=po.init.Transfer(source, layers=(0, 1) if freeze else None, freeze=freeze),
    )
    for name, model in (("cold", spec), ("warm", warm_spec)):
        trace = ErrorTrace(target, every)
        t0 = time.perf_counter()
        po.solve(
            target,
            model=model,
            phases=[po.optim.Adam(steps=steps, lr=lr)],
            collocation=collocation,
            seed=seed + 1,
            log_every=500,
            callbacks=[trace],
        )
        times[name] = time.perf_counter() - t0
        traces[name] = trace
    cold_final = traces["cold"].errors[-1]
    warm_reach = traces["warm"].first_step_below(cold_final)
    cold_reach = traces["cold"].first_step_below(cold_final)
    levels = {f"{level:g}": {n: t.first_step_below(level) for n, t in traces.items()} for level in LEVELS}
    return {
        "source": {"k": k_source, "rel_l2": source_error, "steps": source.steps, "wall_s": t_source},
        "target_k": k_target,
        "cold_final_rel_l2": cold_final,
        "warm_final_rel_l2": traces["warm"].errors[-1],
        "warm_initial_rel_l2": traces["warm"].errors[0],
        "cold_initial_rel_l2": traces["cold"].errors[0],
        "steps_to_cold_final": {"cold": cold_reach, "warm": warm_reach},
        "step_ratio_warm_over_cold": (warm_reach / cold_reach) if warm_reach and cold_reach else None,
        "steps_to_level": levels,
        "wall_s": times,
        "trace": {n: {"step": t.steps, "rel_l2": t.errors} for n, t in traces.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--source-steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--freeze", action="store_true", help="freeze the first two transferred layers")
    args = ap.parse_args(argv)
    out = run(steps=args.steps, source_steps=args.source_steps, every=args.every, freeze=args.freeze)
    reach = out["steps_to_cold_final"]
    print(
        f"source k={out['source']['k']}: rel L2 {out['source']['rel_l2']:.3e} "
        f"after {out['source']['steps']} steps"
    )
    print(f"target k={out['target_k']} (Adam lr 1e-3, {args.steps} steps, float64):")
    print(f"{'run':>5} {'initial rel L2':>15} {'final rel L2':>13} {'steps to cold final':>20}")
    for name in ("cold", "warm"):
        print(
            f"{name:>5} {out[f'{name}_initial_rel_l2']:15.3e} {out[f'{name}_final_rel_l2']:13.3e} "
            f"{reach[name]!s:>20}"
        )
    for level, steps in out["steps_to_level"].items():
        print(f"first step with rel L2 <= {level}: cold {steps['cold']}, warm {steps['warm']}")
    report = benchmark_report(
        "transfer",
        out,
        config={
            "problem": "heat u_t = k u_xx, k 0.1 -> 0.15",
            "model": "MLP 3 x 32 tanh",
            "points": "1000 interior + 100 per condition",
            "optimizer": "Adam lr 1e-3",
            "dtype": "float64",
            "freeze": args.freeze,
        },
        command="python -m benchmarks.transfer" + (" --freeze" if args.freeze else ""),
    )
    write_json(report, RESULTS / ("transfer_freeze.json" if args.freeze else "transfer.json"))
    return report


if __name__ == "__main__":
    main()
