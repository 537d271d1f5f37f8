"""Steps/s of pinnopt's trainer versus a hand-written PyTorch loop doing the same math.

Burgers configuration: MLP 3 x 20 tanh, 2540 interior + 80 boundary + 160 initial points,
Adam lr 1e-3, reverse-mode autograd in both. Both runners start from the same weights and
points and alternate round by round in one process.

    python -m benchmarks.speed_step [--steps 200] [--rounds 7] [--dtype float32]
"""

from __future__ import annotations

import argparse
import copy
import math

import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS, burgers_speed_problem, interleaved, ratio_summary


def _setup(dtype: torch.dtype, seed: int = 0):
    problem = burgers_speed_problem()
    torch.manual_seed(seed)
    pinn, _ = build_model(problem, po.nn.MLP(width=20, depth=3))
    pinn = pinn.to(dtype)
    g = torch.Generator().manual_seed(seed)
    points = sample_points(problem, po.Collocation(), g, dtype, torch.device("cpu"))
    return problem, pinn, points


def pinnopt_runner(dtype: torch.dtype):
    problem, pinn, points = _setup(dtype)
    objective = build_objective(problem).to(dtype, torch.device("cpu"))

    def run(steps: int) -> None:
        phases = [po.optim.Adam(steps=steps, lr=1e-3, fused=False)]  # the hand loop's Adam kernels
        trainer = po.train.Trainer(pinn, objective, points, phases, log_every=100)
        trainer.run()

    return run


def hand_runner(dtype: torch.dtype):
    """The same computation written directly: one model call per point set, autograd."""
    _, pinn, points = _setup(dtype)
    net = copy.deepcopy(pinn.net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xi = points["interior"].x
    xl, xr, x0 = points["x=-1"].x, points["x=1"].x, points["t=0"].x
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
            loss = loss + (ic * ic).mean()
            loss.backward()
            opt.step()

    return run


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    args = ap.parse_args(argv)
    results = {}
    for name in args.dtype:
        dtype = getattr(torch, name)
        rates = interleaved(
            {"pinnopt": pinnopt_runner(dtype), "hand": hand_runner(dtype)}, args.steps, args.rounds
        )
        summary = ratio_summary(rates, "pinnopt", "hand")
        results[name] = {
            "steps_per_s": {k: sorted(v) for k, v in rates.items()},
            "pinnopt_over_hand": summary,
        }
        print(
            f"{name}: pinnopt {max(rates['pinnopt']):.1f} steps/s, hand {max(rates['hand']):.1f} "
            f"steps/s (best round); ratio median {summary['median']:.3f} "
            f"[{summary['min']:.3f}, {summary['max']:.3f}]"
        )
    report = benchmark_report(
        "speed_step",
        results,
        config={
            "model": "MLP 3x20 tanh",
            "points": "2540+80+160",
            "optimizer": "Adam lr 1e-3",
            "steps_per_round": args.steps,
            "rounds": args.rounds,
            "derivatives": "autograd",
        },
        command="python -m benchmarks.speed_step",
    )
    write_json(report, RESULTS / "speed_step.json")
    return report


if __name__ == "__main__":
    main()
