"""How fast can a fused Burgers step be? The matrix products alone, against the measured steps.

pinnopt's fused Taylor step and the hand-written nested-autograd loop of
:mod:`benchmarks.peers` do the same matrix-product work on the Burgers cases: per hidden
layer, the fused step runs one forward and two backward products over ``R = 4 nd + nb``
columns (value and three derivative channels of the ``nd`` interior points, values of the
``nb`` boundary and initial points); the nested loop runs ``3 (nd + nb) + 9 nd`` column
products (forward, ``u_x, u_t``, ``u_xx`` by a second reverse pass, then the backward
through all of it), the same ``12 nd + 3 nb``. Whatever else a step does (elementwise
work, dispatch, the optimizer) comes on top. So the fastest a step can be is the time of
its products, and ``hand step time / product time`` bounds what any eager implementation
with these products can gain over the hand-written loop.

This times, side by side in one process (one thread, float32, CPU time, alternating
rounds, allocations from a warm heap: :func:`benchmarks.common.heap_allocator`): the
products of one fused step with pinnopt's shapes (feature-major ``W @ A``, ``G @ A^T``,
``W^T @ G``), a pinnopt step and a hand-written step.

    python -m benchmarks.speed_floor [--cases burgers_small burgers_large] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from pinnopt.validate.report import benchmark_report, write_json

from . import peers
from .common import RESULTS, heap_allocator, interleaved

STEPS = {"burgers_small": 100, "burgers_large": 2}


def products_runner(case: peers.Case, dtype: torch.dtype) -> Callable[[int], None]:
    """The matrix products of one fused step (first, hidden and last layers), nothing else."""
    nd, nb = case.interior, case.boundary + case.initial
    n, r, w = nd + nb, 4 * nd + nb, case.width
    g = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=dtype)

    w0, wh, wl = rand(w, 2), rand(w, w), rand(1, w)
    h, a, gr, out = rand(n, 2), rand(w, r), rand(w, r), torch.empty(w, r, dtype=dtype)
    g1 = rand(1, r)
    hidden = case.depth - 1

    def run(steps: int) -> None:
        for _ in range(steps):
            torch.mm(w0, h.t())  # first layer: values only (its channels are constant columns)
            for _ in range(hidden):
                torch.mm(wh, a, out=out)  # forward
            torch.mm(wl, a)  # output layer
            torch.mm(g1, a.t())  # output weight gradient
            for _ in range(hidden):
                torch.mm(gr, a.t())  # weight gradient
                torch.mm(wh.t(), gr, out=out)  # input gradient
            torch.mm(h.t(), gr[:, :n].t())  # first layer's weight gradient

    return run


def measure(name: str, rounds: int) -> dict[str, Any]:
    """Steps/s of the products alone, pinnopt and the hand-written loop, side by side."""
    case = peers.CASES[name]
    f32 = torch.float32
    runners = {
        "products": products_runner(case, f32),
        "pinnopt": peers.pinnopt_runner(case, f32),
        "hand": peers.hand_runner(case, f32),
    }
    rates = interleaved(runners, STEPS[name], rounds, clock=time.process_time)
    ms = {k: 1000 / statistics.median(v) for k, v in rates.items()}
    bound = [h / p for h, p in zip(rates["products"], rates["hand"], strict=True)]
    got = [p / h for p, h in zip(rates["pinnopt"], rates["hand"], strict=True)]
    out = {
        "network": f"{case.depth} x {case.width} tanh",
        "points": f"{case.interior} + {case.boundary} + {case.initial}",
        "ms_per_step": ms,
        "products_share_of_pinnopt_step": ms["products"] / ms["pinnopt"],
        "bound_over_hand": statistics.median(bound),
        "pinnopt_over_hand": statistics.median(got),
        "steps_per_s_rounds": rates,
    }
    print(
        f"{name}: products {ms['products']:.1f} ms, pinnopt {ms['pinnopt']:.1f} ms, hand {ms['hand']:.1f} ms "
        f"per step; hand / products {out['bound_over_hand']:.2f}x (the most any eager step with these "
        f"products can gain), pinnopt / hand {out['pinnopt_over_hand']:.2f}x",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=list(STEPS), choices=list(STEPS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(RESULTS / "speed_floor.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    allocator = heap_allocator()
    results = {name: measure(name, args.rounds) for name in args.cases}
    report = benchmark_report(
        "speed_floor",
        results,
        config={
            "dtype": "float32",
            "clock": "cpu",
            "rounds": args.rounds,
            "allocator": allocator,
            "description": __doc__,
        },
        command="python -m benchmarks.speed_floor " + " ".join(argv if argv is not None else []),
    )
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
