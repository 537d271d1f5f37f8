"""Robust design: a control that meets its target for every decay rate in an interval.

u' = -k u + theta, u(0) = 0; the final state u(1) must stay within 0.15 of 1 for every
decay rate k in [0.9, 1.5] (catalog value k = 1). The robust solve minimizes the worst case
over k with a parametric network u(t, k); the nominal solve only looks at k = 1. Both
controls are then checked by brute force: scipy's solve_ivp on 201 decay rates.

    python examples/robust_design.py              # a few seconds
    python examples/robust_design.py --steps 1000
"""

from __future__ import annotations

import argparse
from typing import Any

from pinnopt.problems import robust_design as rd

import pinnopt as po


def main(steps: int = 200) -> dict[str, Any]:
    problem = rd.make_problem()
    settings = rd.recommended()
    phases = [po.optim.Adam(steps=steps, lr=3e-3), po.optim.LBFGS(steps=steps)]
    robust = po.solve(problem, **{**settings, "phases": phases})
    nominal = po.solve(
        problem,
        model=po.nn.MLP(width=20, depth=2),
        collocation=settings["collocation"],
        phases=phases,
        robust=False,
    )
    out: dict[str, Any] = {}
    print(f"{'design':<8} {'theta':>9} {'exact':>9} {'worst |u(1)-1|':>15} {'at k':>6}  band 0.15")
    for name, result, exact in (
        ("robust", robust, rd.robust_theta()),
        ("nominal", nominal, rd.nominal_theta()),
    ):
        theta = result.parameters["theta"]
        check = rd.brute_force(theta)
        out[name] = {"theta": theta, "theta_exact": exact, **check}
        print(
            f"{name:<8} {theta:9.5f} {exact:9.5f} {check['max_deviation']:15.4f} {check['worst_k']:6.3f}  "
            f"{'met' if check['meets_band'] else 'VIOLATED'}"
        )
    out["robust_rel_l2"] = robust.validate().rel_l2["u"]
    print(f"robust state u(t; k=1) vs closed form: relative L2 {out['robust_rel_l2']:.2e} (float64)")
    print(robust.robust)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=200, help="Adam steps, then as many L-BFGS iterations")
    main(ap.parse_args().steps)
