"""Forward PDE: the heat equation in space-time, solved, validated, reported and plotted.

    python examples/forward_pde.py [--steps 1000] [--out runs/heat]

Writes ``report.json``, ``report.md`` and the plots (loss history, prediction / exact /
error heatmaps) into the output folder.
"""

from __future__ import annotations

import argparse

import sympy as sp

import pinnopt as po


def make_problem() -> po.Problem:
    """u_t = 0.4 u_xx on [0, 1] x [0, 1], u = 0 at both ends, u(x, 0) = sin(pi x)."""
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - sp.Rational(2, 5) * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, 0), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(t, 0), u - sp.sin(sp.pi * x)),
        ],
        exact=sp.exp(-sp.Rational(2, 5) * sp.pi**2 * t) * sp.sin(sp.pi * x),
        name="heat",
    )


def main(steps: int = 1000, out: str | None = None) -> po.Result:
    problem = make_problem()
    print(po.check_problem(problem))  # the exact solution satisfies every equation and condition
    result = po.solve(
        problem,
        model=po.nn.MLP(width=32, depth=3),
        collocation=po.Collocation(interior=1000, boundary=50),
        phases=[po.optim.Adam(steps=steps, lr=2e-3), po.optim.LBFGS(steps=steps)],
        stop=po.stop.CostThreshold(1e-9),
    )
    print(result.stop_reason)
    print(result.validate())
    if out:
        po.validate.report_run(result, out)
        print(f"report and plots in {out}")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=1000, help="Adam steps, then at most as many L-BFGS steps")
    ap.add_argument("--out", default=None, help="folder for report.json, report.md and plots")
    args = ap.parse_args()
    main(args.steps, args.out)
