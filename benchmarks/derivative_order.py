"""Cost of one training step versus derivative order: nested reverse mode versus Taylor mode.

1-D, MLP 4 x 50 tanh with input scaling, 4096 points, residual ``u^(n) + u - sin(pi x)`` for
n = 1..4, one step = forward + mean-square loss + backward + Adam update. Runners, all from
the same weights and points, alternating round by round in one process:

- ``nested``: a hand-written loop, ``torch.autograd.grad`` applied n times (create_graph);
- ``autograd``: pinnopt's ``AutogradEngine`` (the same nested reverse mode, via the plan);
- ``taylor``: pinnopt's ``TaylorEngine`` on its general (unfused) path: derivatives propagated
  forward, one product per channel and layer;
- ``taylor_stacked``: the same with all channels stacked into one product per layer;
- ``taylor_fused`` (orders 1 to 4): the default ``TaylorEngine()``, whose fused node (one
  autograd node with a hand-written backward) takes plans of order <= 4;
- ``taylor_compiled`` (with ``--compile``): the Taylor loss under ``torch.compile``; the
  wall time of its first call (compilation plus one step) is reported separately.

    python -m benchmarks.derivative_order [--steps 3] [--rounds 5] [--dtype float64 float32] [--clock cpu]
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from pinnopt.nn import PINN, MLPNet
from pinnopt.nn.taylor import TaylorEngine
from pinnopt.nn.taylor.fused_layout import FUSED_MAX_ORDER
from pinnopt.symbolic import AutogradEngine, DerivativeEngine, DerivativePlan, Field
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS, add_machine_options, apply_machine_options, interleaved, median, ratio_summary

N_POINTS, WIDTH, DEPTH = 4096, 50, 4
TARGETS = {2: 1.5, 4: 4.0}
"""Required speed-up of Taylor mode over the hand-written nested loop, by order."""


def _setup(dtype: torch.dtype, seed: int = 0) -> tuple[PINN, torch.Tensor]:
    torch.manual_seed(seed)
    net = MLPNet(1, 1, WIDTH, DEPTH, "tanh", lower=[-1.0], upper=[1.0])
    x = torch.rand(N_POINTS, 1, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return PINN(net, ["u"]).to(dtype), x.to(dtype)


def nested_runner(order: int, dtype: torch.dtype) -> Callable[[int], None]:
    """The hand-written loop: n nested ``autograd.grad`` calls."""
    pinn, x = _setup(dtype)
    net = copy.deepcopy(pinn.net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    f = torch.sin(math.pi * x[:, 0])

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            xr = x.detach().requires_grad_(True)
            u = net(xr)[:, 0]
            d = u
            for _ in range(order):
                d = torch.autograd.grad(d, xr, torch.ones_like(d), create_graph=True)[0][:, 0]
            r = d + u - f
            (r * r).mean().backward()
            opt.step()

    return run


def engine_runner(
    order: int, dtype: torch.dtype, engine: DerivativeEngine, *, compile: bool = False
) -> Callable[[int], None]:
    """The same step with fields from a pinnopt derivative engine (optionally ``torch.compile``d)."""
    pinn, x = _setup(dtype)
    opt = torch.optim.Adam(pinn.parameters(), lr=1e-3)
    f = torch.sin(math.pi * x[:, 0])
    value, top = Field("u", (0,)), Field("u", (order,))
    plan = DerivativePlan.build({value, top})

    def loss() -> torch.Tensor:
        fields = engine.evaluate(pinn, x, plan, ("u",))
        r = fields[top] + fields[value] - f
        return (r * r).mean()

    loss_fn = torch.compile(loss) if compile else loss

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss_fn().backward()
            opt.step()

    return run


def _first_call_seconds(run: Callable[[int], None]) -> float:
    t0 = time.perf_counter()
    run(1)
    return time.perf_counter() - t0


def max_field_difference(order: int) -> float:
    """Relative difference of the order-n field between Taylor and autograd (float64)."""
    pinn, x = _setup(torch.float64)
    plan = DerivativePlan.build({Field("u", (order,))})
    a = AutogradEngine().evaluate(pinn, x, plan, ("u",))[Field("u", (order,))]
    t = TaylorEngine().evaluate(pinn, x, plan, ("u",))[Field("u", (order,))]
    return float(((a - t).abs().max() / a.abs().max()).detach())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=3, help="steps per runner and round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    ap.add_argument("--compile", action="store_true", help="also time torch.compile of the Taylor step")
    ap.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time (shared machines)"
    )
    add_machine_options(ap)
    args = ap.parse_args(argv)
    allocator = apply_machine_options(args)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    results: dict = {}
    print(f"torch threads: {torch.get_num_threads()}")
    for name in args.dtype:
        dtype = getattr(torch, name)
        per_order: dict = {}
        for order in args.orders:
            runners = {
                "nested": nested_runner(order, dtype),
                "autograd": engine_runner(order, dtype, AutogradEngine()),
                "taylor": engine_runner(order, dtype, TaylorEngine(stack=False, fused=False)),
                "taylor_stacked": engine_runner(order, dtype, TaylorEngine(stack=True, fused=False)),
            }
            if order <= FUSED_MAX_ORDER:
                runners["taylor_fused"] = engine_runner(order, dtype, TaylorEngine())
            compile_s = None
            if args.compile:
                runners["taylor_compiled"] = engine_runner(order, dtype, TaylorEngine(), compile=True)
                compile_s = _first_call_seconds(runners["taylor_compiled"])  # wall time, includes one step
            rates = interleaved(runners, args.steps, args.rounds, clock=clock)
            ms = {k: 1e3 / median(v) for k, v in rates.items()}
            speedup = {k: ratio_summary(rates, k, "nested") for k in runners if k != "nested"}
            per_order[order] = {"ms_per_step": ms, "speedup_over_nested": speedup}
            if compile_s is not None:
                per_order[order]["first_compiled_call_s"] = compile_s
                print(f"{name} order {order}: torch.compile first call {compile_s:.1f} s")
            print(
                f"{name} order {order}: "
                + ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items())
                + f" | taylor/nested x{speedup['taylor']['median']:.2f}"
                f" [{speedup['taylor']['min']:.2f}, {speedup['taylor']['max']:.2f}]"
            )
        lowest = min(per_order)
        growth = {
            k: {
                o: per_order[o]["ms_per_step"][k] / per_order[lowest]["ms_per_step"][k]
                for o in per_order
                if k in per_order[o]["ms_per_step"]  # the fused runner exists up to order 4
            }
            for k in per_order[lowest]["ms_per_step"]
        }
        targets = {
            o: {"required": req, "measured": _default(per_order[o]["speedup_over_nested"])["median"]}
            for o, req in TARGETS.items()
            if o in per_order
        }
        for t in targets.values():
            t["met"] = t["measured"] >= t["required"]
        results[name] = {"orders": per_order, f"growth_over_order_{lowest}": growth, "targets": targets}
    results["max_relative_field_difference_float64"] = {o: max_field_difference(o) for o in args.orders}
    _print_table(results, args.dtype)
    report = benchmark_report(
        "derivative_order",
        results,
        config={
            "model": f"MLP {DEPTH}x{WIDTH} tanh, input scaling",
            "points": N_POINTS,
            "step": "forward + loss + backward + Adam",
            "residual": "u^(n) + u - sin(pi x)",
            "steps_per_round": args.steps,
            "rounds": args.rounds,
            "clock": args.clock,
            "torch_threads": torch.get_num_threads(),
            "allocator": allocator,
        },
        command=" ".join(["python -m benchmarks.derivative_order", *(argv or sys.argv[1:])]),
    )
    suffix = ("" if args.clock == "wall" else "_cpu") + ("_compile" if args.compile else "")
    write_json(report, RESULTS / f"derivative_order{suffix}.json")
    return report


def _default(entry: dict) -> Any:
    """The entry of the engine ``TaylorEngine()`` uses by default (fused up to order 4)."""
    return entry.get("taylor_fused", entry["taylor"])


def _print_table(results: dict, dtypes: list[str]) -> None:
    print(
        "\n| dtype | order | nested ms | autograd ms | taylor ms | stacked ms | fused ms | default / nested |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in dtypes:
        for order, r in results[name]["orders"].items():
            ms, sp = r["ms_per_step"], _default(r["speedup_over_nested"])
            print(
                f"| {name} | {order} | {ms['nested']:.1f} | {ms['autograd']:.1f} | {ms['taylor']:.1f} | "
                f"{ms['taylor_stacked']:.1f} | {ms.get('taylor_fused', float('nan')):.1f} | "
                f"x{sp['median']:.2f} [{sp['min']:.2f}, {sp['max']:.2f}] |"
            )
        for o, t in results[name]["targets"].items():
            verdict = "met" if t["met"] else "MISSED"
            print(f"{name}: target x{t['required']} at order {o}: measured x{t['measured']:.2f} ({verdict})")
    diffs = results["max_relative_field_difference_float64"]
    listed = ", ".join(f"order {o}: {d:.1e}" for o, d in diffs.items())
    print(f"max relative field difference (float64): {listed}")


if __name__ == "__main__":
    main()
