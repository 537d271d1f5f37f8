"""Steps/s of pinnopt's trainer on Burgers with reverse-mode autograd versus Taylor mode.

Two configurations (tanh MLPs, input scaling, Adam lr 1e-3, every point set each step):

- ``small``: 3 x 20, 2540 interior + 80 boundary + 160 initial points (the peers' recipe);
- ``large``: 5 x 100, 8192 interior + 2048 boundary + 2048 initial points.

Runners, from the same weights and points, alternating round by round in one process:
``autograd`` (``AutogradEngine``), ``taylor`` (``TaylorEngine`` on its general, unfused path,
one product per channel), ``taylor_stacked`` (unfused, one product per layer over stacked
channels), ``taylor_fused`` (``TaylorEngine()``: the fused node with the point sets merged,
what ``AutoEngine`` uses here since the residual has order 2) and, for the small size,
``hand``: the hand-written nested-autograd loop of ``benchmarks.speed_step`` on the same
points. Exactness: the loss histories of a few steps with each engine.

    python -m benchmarks.speed_engines [--steps 20 3] [--rounds 5] [--sizes small large] [--clock cpu]
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from collections.abc import Callable

import numpy as np
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.losses import PointSet
from pinnopt.nn.taylor import AutoEngine, TaylorEngine
from pinnopt.symbolic import AutogradEngine, DerivativeEngine
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS, interleaved, median, ratio_summary

SIZES = {
    "small": {"width": 20, "depth": 3, "interior": 2540, "side": 40, "initial": 160},
    "large": {"width": 100, "depth": 5, "interior": 8192, "side": 1024, "initial": 2048},
}


def burgers(side: int, initial: int) -> po.Problem:
    """Burgers, u(+-1, t) = 0, u(x, 0) = -sin(pi x), with the given boundary point counts."""
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u * u.diff(x) - sp.Rational(1, 100) / sp.pi * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, -1), u, n=side),
            po.On(sp.Eq(x, 1), u, n=side),
            po.On(sp.Eq(t, 0), u + sp.sin(sp.pi * x), n=initial),
        ],
        name="burgers-speed",
    )


def _setup(
    size: str, dtype: torch.dtype, seed: int = 0
) -> tuple[po.Problem, po.nn.PINN, dict[str, PointSet]]:
    cfg = SIZES[size]
    problem = burgers(cfg["side"], cfg["initial"])
    torch.manual_seed(seed)
    pinn, _ = build_model(problem, po.nn.MLP(width=cfg["width"], depth=cfg["depth"]))
    pinn = pinn.to(dtype)
    g = torch.Generator().manual_seed(seed)
    points = sample_points(problem, po.Collocation(interior=cfg["interior"]), g, dtype, torch.device("cpu"))
    return problem, pinn, points


def trainer_runner(size: str, dtype: torch.dtype, engine: DerivativeEngine) -> Callable[[int], None]:
    """pinnopt's Trainer with the given derivative engine."""
    problem, pinn, points = _setup(size, dtype)
    objective = build_objective(problem, engine).to(dtype, torch.device("cpu"))

    def run(steps: int) -> None:
        po.train.Trainer(pinn, objective, points, [po.optim.Adam(steps=steps, lr=1e-3)], log_every=100).run()

    return run


def hand_runner(size: str, dtype: torch.dtype) -> Callable[[int], None]:
    """The hand-written loop: nested autograd, one model call per point set."""
    _, pinn, points = _setup(size, dtype)
    net = copy.deepcopy(pinn.net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xi, xl, xr, x0 = (points[k].x for k in ("interior", "x=-1", "x=1", "t=0"))
    nu = 0.01 / math.pi

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            x = xi.detach().requires_grad_(True)
            u = net(x)[:, 0]
            ones = torch.ones_like(u)
            g = torch.autograd.grad(u, x, ones, create_graph=True)[0]
            ux, ut = g[:, 0], g[:, 1]
            uxx = torch.autograd.grad(ux, x, ones, create_graph=True)[0][:, 0]
            r = ut + u * ux - nu * uxx
            ic = net(x0)[:, 0] + torch.sin(math.pi * x0[:, 0])
            loss = (r * r).mean() + net(xl)[:, 0].pow(2).mean() + net(xr)[:, 0].pow(2).mean()
            (loss + (ic * ic).mean()).backward()
            opt.step()

    return run


def loss_history_difference(size: str, steps: int = 5) -> dict[str, float]:
    """Max relative difference of the float64 loss histories (Taylor vs autograd, Adam)."""
    histories = {}
    engines = (
        ("autograd", AutogradEngine()),
        ("taylor", TaylorEngine(fused=False)),
        ("taylor_fused", TaylorEngine()),
        ("auto", AutoEngine()),
    )
    for name, engine in engines:
        problem, pinn, points = _setup(size, torch.float64)
        objective = build_objective(problem, engine).to(torch.float64, torch.device("cpu"))
        trainer = po.train.Trainer(
            pinn, objective, points, [po.optim.Adam(steps=steps, lr=1e-3)], log_every=1
        )
        trainer.run()
        histories[name] = np.asarray(trainer.history.loss)
    ref = histories["autograd"]
    return {k: float(np.max(np.abs(v - ref) / np.abs(ref))) for k, v in histories.items() if k != "autograd"}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, nargs="+", default=[20, 3], help="steps per round, per size")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", nargs="+", default=["small", "large"], choices=sorted(SIZES))
    ap.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    ap.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time (shared machines)"
    )
    args = ap.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    steps = dict(zip(args.sizes, args.steps + args.steps[-1:] * len(args.sizes), strict=False))
    print(f"torch threads: {torch.get_num_threads()}")
    results: dict = {}
    for size in args.sizes:
        results[size] = {"config": SIZES[size], "steps_per_round": steps[size]}
        for name in args.dtype:
            dtype = getattr(torch, name)
            runners = {
                "autograd": trainer_runner(size, dtype, AutogradEngine()),
                "taylor": trainer_runner(size, dtype, TaylorEngine(stack=False, fused=False)),
                "taylor_stacked": trainer_runner(size, dtype, TaylorEngine(stack=True, fused=False)),
                "taylor_fused": trainer_runner(size, dtype, TaylorEngine()),
            }
            if size == "small":
                runners["hand"] = hand_runner(size, dtype)
            rates = interleaved(runners, steps[size], args.rounds, clock=clock)
            entry = {
                "steps_per_s": {k: median(v) for k, v in rates.items()},
                "taylor_over_autograd": ratio_summary(rates, "taylor", "autograd"),
                "taylor_stacked_over_autograd": ratio_summary(rates, "taylor_stacked", "autograd"),
            }
            if "hand" in rates:
                entry["taylor_over_hand"] = ratio_summary(rates, "taylor", "hand")
                entry["autograd_over_hand"] = ratio_summary(rates, "autograd", "hand")
            results[size][name] = entry
            r = entry["taylor_over_autograd"]
            print(
                f"{size} {name}: "
                + ", ".join(f"{k} {v:.2f} steps/s" for k, v in entry["steps_per_s"].items())
                + f" | taylor/autograd x{r['median']:.2f} [{r['min']:.2f}, {r['max']:.2f}]"
            )
        results[size]["max_relative_loss_difference_float64"] = loss_history_difference(size)
    _print_table(results, args.sizes, args.dtype)
    report = benchmark_report(
        "speed_engines",
        results,
        config={
            "problem": "Burgers",
            "optimizer": "Adam lr 1e-3",
            "rounds": args.rounds,
            "clock": args.clock,
        },
        command=" ".join(["python -m benchmarks.speed_engines", *(argv or sys.argv[1:])]),
    )
    suffix = "" if args.clock == "wall" else "_cpu"
    write_json(report, RESULTS / f"speed_engines{suffix}.json")
    return report


def _print_table(results: dict, sizes: list[str], dtypes: list[str]) -> None:
    print("\n| size | dtype | autograd steps/s | taylor steps/s | stacked steps/s | taylor / autograd |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        for name in dtypes:
            e = results[size][name]
            s, r = e["steps_per_s"], e["taylor_over_autograd"]
            print(
                f"| {size} | {name} | {s['autograd']:.2f} | {s['taylor']:.2f} | {s['taylor_stacked']:.2f} | "
                f"x{r['median']:.2f} [{r['min']:.2f}, {r['max']:.2f}] |"
            )
    for size in sizes:
        for name in dtypes:
            if "taylor_over_hand" in results[size][name]:
                r = results[size][name]["taylor_over_hand"]
                print(f"{size} {name}: taylor vs hand-written loop x{r['median']:.2f}")
        diff = results[size]["max_relative_loss_difference_float64"]
        print(f"{size}: max relative loss difference over 5 Adam steps (float64): {diff}")


if __name__ == "__main__":
    main()
