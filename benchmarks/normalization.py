"""Normalization: input scaling on x in [0, 1000], and hidden-layer norms on 1-D Poisson.

Input scaling: -L^2 u'' = pi^2 sin(pi x / L) on [0, L], L = 1000, u(0) = u(L) = 0, exact
sin(pi x / L); MLP 2 x 16 tanh, 64 interior points, Adam (200 steps, lr 1e-2) then L-BFGS
(500), float64, with input scaling to [-1, 1] ("box"), standardization and none.

Hidden-layer norms: the library's Poisson 1-D, MLP 3 x 20 tanh, 128 points, Adam (300
steps, lr 1e-2) then L-BFGS (500), float64, with no norm, layer norm and group norm (4
groups), and batch norm.

Batch norm on Poisson 1-D and 2-D (the library's problems), with 2 points per boundary
set (in 1-D both are the same point: zero variance). Statistics come from the interior
batch and are shared by every point set; taken per set, the boundary sets were normalized
to the norm's bias alone and 1-D Poisson ended at rel L2 3.7 (against 3.8e-5 without
norm). 1-D: MLP 3 x 20, 128 interior points, Adam 300 (lr 1e-2) then L-BFGS 500; 2-D:
MLP 3 x 20, 256 interior points, 16 per edge, Adam 300 then L-BFGS 300.

    python -m benchmarks.normalization [--seeds 5] [--only batch]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import sympy as sp

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

LENGTH = 1000


def big_domain() -> po.Problem:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, 0, LENGTH),
        equations=[-(LENGTH**2) * u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x / LENGTH)],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, LENGTH), u)],
        exact=sp.sin(sp.pi * x / LENGTH),
        name="poisson_0_1000",
    )


def _runs(problem: po.Problem, specs: dict[str, po.nn.ModelSpec], seeds: int, **kw: Any) -> dict[str, Any]:
    out = {}
    for name, spec in specs.items():
        errors, times = [], []
        for seed in range(seeds):
            t0 = time.perf_counter()
            result = po.solve(problem, model=spec, seed=seed, log_every=500, **kw)
            times.append(time.perf_counter() - t0)
            errors.append(result.validate().rel_l2["u"])
        out[name] = {"rel_l2": errors, "median_rel_l2": statistics.median(errors), "wall_s": times}
        print(f"  {name:>12}: rel L2 (float64) " + " ".join(f"{e:.2e}" for e in errors))
    return out


def batch_norm(seeds: int) -> dict[str, Any]:
    """Batch norm against no norm on Poisson 1-D and 2-D (2 points per boundary set)."""
    out = {}
    for name, phases, collocation in (
        (
            "poisson1d",
            [po.optim.Adam(steps=300, lr=1e-2), po.optim.LBFGS(steps=500)],
            po.Collocation(128, boundary=2),
        ),
        (
            "poisson2d",
            [po.optim.Adam(steps=300, lr=1e-2), po.optim.LBFGS(steps=300)],
            po.Collocation(256, boundary=16),
        ),
    ):
        print(f"batch norm, {name}:")
        runs = _runs(
            problems.get(name),
            {"none": po.nn.MLP(width=20, depth=3), "batch": po.nn.MLP(width=20, depth=3, norm="batch")},
            seeds,
            phases=phases,
            collocation=collocation,
        )
        runs["ratio_of_medians"] = runs["batch"]["median_rel_l2"] / runs["none"]["median_rel_l2"]
        print(f"  median ratio batch / none: {runs['ratio_of_medians']:.2f}")
        out[name] = runs
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", choices=["batch"], default=None, help="run only the batch-norm comparison")
    args = ap.parse_args(argv)
    batch = batch_norm(args.seeds)
    if args.only == "batch":
        return batch
    print(f"input scaling, x in [0, {LENGTH}]:")
    scaling = _runs(
        big_domain(),
        {
            "box": po.nn.MLP(width=16, depth=2, input_scaling=True),
            "standardize": po.nn.MLP(width=16, depth=2, input_scaling="standardize"),
            "none": po.nn.MLP(width=16, depth=2, input_scaling=False),
        },
        args.seeds,
        phases=[po.optim.Adam(steps=200, lr=1e-2), po.optim.LBFGS(steps=500)],
        collocation=po.Collocation(interior=64, boundary=1),
    )
    print("hidden-layer norms, Poisson 1-D:")
    norms = _runs(
        problems.get("poisson1d"),
        {
            "none": po.nn.MLP(width=20, depth=3),
            "layer": po.nn.MLP(width=20, depth=3, norm="layer"),
            "group": po.nn.MLP(width=20, depth=3, norm="group", groups=4),
        },
        args.seeds,
        phases=[po.optim.Adam(steps=300, lr=1e-2), po.optim.LBFGS(steps=500)],
        collocation=po.Collocation(interior=128, boundary=1),
    )
    report = benchmark_report(
        "normalization",
        {"input_scaling_0_1000": scaling, "hidden_norms_poisson1d": norms, "batch_norm": batch},
        config={"dtype": "float64", "seeds": args.seeds, "description": __doc__.split("\n\n")[1:3]},
        command="python -m benchmarks.normalization",
    )
    write_json(report, RESULTS / "normalization.json")
    return report


if __name__ == "__main__":
    main()
