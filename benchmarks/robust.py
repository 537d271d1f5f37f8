"""Robust optimization: the design example at full length, and how conservative each set is.

1. Robust design (problems/robust_design.py): the robust and the nominal control, fitted
   with the recommended settings, validated by brute force (solve_ivp on 201 decay rates).
2. A robust linear program, max c.x s.t. a(xi).x <= b, 0 <= x <= 1, with the row's three
   coefficients uncertain in a box, budgeted sets (Gamma = 0 ... 3) and an ellipsoid; each
   solved by pinnopt (squared-hinge penalty, worst case by vertex enumeration or PGA) and by
   its robust counterpart in scipy (linprog; SLSQP for the ellipsoid's second-order cone).

    python -m benchmarks.robust              # about a minute on 2 cores
    python -m benchmarks.robust --steps 300  # shorter design fit
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import sympy as sp
import torch
from pinnopt.problems import robust_design as rd
from scipy.optimize import linprog, minimize

import pinnopt as po
from pinnopt.declare.uncertainty.space import Uncertain, UncertaintySpace
from pinnopt.losses import Evaluation, Objective, PointSet, ResidualTerm, Term
from pinnopt.nn import PINN
from pinnopt.robust import RobustTerm
from pinnopt.symbolic import SymbolContext, compile_expression
from pinnopt.train import Trainer
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

OUT = RESULTS / "robust.json"
COMMAND = "python -m benchmarks.robust"


def design(steps: int) -> dict:
    """Robust vs nominal control, checked by brute force."""
    problem = rd.make_problem()
    settings = rd.recommended()
    phases = [po.optim.Adam(steps=steps, lr=3e-3), po.optim.LBFGS(steps=steps // 2)]
    t0 = time.perf_counter()
    robust = po.solve(problem, **{**settings, "phases": phases})
    t_robust = time.perf_counter() - t0
    t0 = time.perf_counter()
    nominal = po.solve(
        problem,
        model=po.nn.MLP(width=20, depth=2),
        collocation=settings["collocation"],
        phases=phases,
        robust=False,
    )
    t_nominal = time.perf_counter() - t0
    out = {}
    for name, res, exact, wall in (
        ("robust", robust, rd.robust_theta(), t_robust),
        ("nominal", nominal, rd.nominal_theta(), t_nominal),
    ):
        theta = res.parameters["theta"]
        out[name] = {
            "theta": theta,
            "theta_exact": exact,
            "theta_rel_error": abs(theta - exact) / exact,
            "brute_force": rd.brute_force(theta),
            "steps": res.steps,
            "wall_time_s": wall,
            "s_per_step": wall / max(1, res.steps),
            "stop_reason": res.stop_reason.name if res.stop_reason else None,
            "report": res.robust.as_dict() if res.robust else None,
        }
    out["robust"]["state_rel_l2_at_nominal_k"] = robust.validate().rel_l2["u"]
    out["exact_worst_deviation"] = {
        "robust": rd.brute_force(rd.robust_theta())["max_deviation"],
        "nominal": rd.brute_force(rd.nominal_theta())["max_deviation"],
    }
    out["config"] = {"phases": [repr(p) for p in phases], "robust": robust.config.get("robust")}
    return out


# -- the robust LP -------------------------------------------------------------------------------
C = np.array([2.0, 3.0, 4.0])
A0 = np.array([1.0, 2.0, 3.0])
D = np.array([0.3, 0.6, 0.9])
B = 4.0
RHO = 1e5
S = sp.Symbol("s")


class _Value(Term):
    """``loss = expr`` (not squared): the LP objective, and the row's signed excess."""

    def __init__(self, expr, name: str = "objective") -> None:
        self.name, self.expr, self.weight, self.point_set = name, expr, 1.0, "p"

    @property
    def fields(self):
        return self.expr.fields

    def loss(self, ev: Evaluation) -> torch.Tensor:
        return self.expr(ev.env("p")).mean()


class _Zero(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x[:, :1])


def pinnopt_lp(uset: po.robust.UncertaintySet, method: po.robust.InnerMaximizer) -> tuple[float, np.ndarray]:
    xs, a = sp.symbols("x1:4"), sp.symbols("a1:4")
    ctx = SymbolContext((S,), ("u",), (*xs, *a))

    def comp(e):
        return compile_expression(e, ctx, require_unknown=False)

    excess = sum(ai * x for ai, x in zip(a, xs, strict=True)) - B
    hinge = ResidualTerm("row", "p", comp(sp.Max(0, excess)), RHO)
    space = UncertaintySpace([Uncertain(a, uset)])
    # The squared hinge is flat where the row holds: gradient ascent searches the excess itself.
    search = None if isinstance(method, po.robust.Vertices) else [_Value(comp(excess), "excess")]
    terms: list[Term] = [
        _Value(comp(-sum(ci * x for ci, x in zip(C, xs, strict=True)))),
        RobustTerm(None, [hinge], space, method=method, keep=64, search_terms=search),
    ]
    for j, x in enumerate(xs):
        terms.append(ResidualTerm(f"lo{j}", "p", comp(sp.Max(0, -x)), RHO))
        terms.append(ResidualTerm(f"hi{j}", "p", comp(sp.Max(0, x - 1)), RHO))
    model = PINN(_Zero(), ("u",), [po.Parameter(x, 0.0) for x in xs]).double()
    pts = {"p": PointSet("p", torch.zeros(1, 1, dtype=torch.float64))}
    Trainer(model, Objective(terms, ("u",)), pts, [po.optim.LBFGS(steps=300)], log_every=1000).run()
    x = np.array([model.parameter_values()[str(v)] for v in xs])
    return float(C @ x), x


def budget_counterpart(gamma: float) -> float:
    n = len(C)
    res = linprog(
        np.concatenate([-C, [0.0], np.zeros(n)]),
        A_ub=np.vstack(
            [np.concatenate([A0, [gamma], np.ones(n)]), np.hstack([np.diag(D), -np.ones((n, 1)), -np.eye(n)])]
        ),
        b_ub=np.concatenate([[B], np.zeros(n)]),
        bounds=[(0, 1)] * n + [(0, None)] * (n + 1),
    )
    return float(-res.fun)


def ellipsoid_counterpart(radius: float) -> float:
    """max c.x s.t. a0.x + r ||D x|| <= b (the worst case over {a0 + D z : ||z|| <= r})."""
    cons = {"type": "ineq", "fun": lambda x: B - A0 @ x - radius * np.linalg.norm(D * x)}
    res = minimize(lambda x: -C @ x, np.full(3, 0.1), bounds=[(0, 1)] * 3, constraints=[cons], method="SLSQP")
    return float(-res.fun)


def lp_table() -> list[dict]:
    rows = []
    for gamma in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
        value, x = pinnopt_lp(po.robust.Budget(A0, D, gamma), po.robust.Vertices())
        rows.append(
            {
                "set": f"Budget(gamma={gamma:g})",
                "pinnopt": value,
                "reference": budget_counterpart(gamma),
                "x": x,
            }
        )
    value, x = pinnopt_lp(po.robust.BoxSet(A0 - D, A0 + D), po.robust.Vertices())
    rows.append({"set": "BoxSet", "pinnopt": value, "reference": budget_counterpart(3.0), "x": x})
    for radius in (1.0, 3**0.5):
        value, x = pinnopt_lp(po.robust.Ellipsoid(A0, D**2, radius), po.robust.PGA(steps=10, restarts=4))
        rows.append(
            {
                "set": f"Ellipsoid(r={radius:.3g})",
                "pinnopt": value,
                "reference": ellipsoid_counterpart(radius),
                "x": x,
            }
        )
    for r in rows:
        r["rel_diff"] = abs(r["pinnopt"] - r["reference"]) / abs(r["reference"])
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=1000, help="Adam steps of the design fits (L-BFGS: half)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    d = design(args.steps)
    print("robust design (u' = -k u + theta, |u(1) - 1| <= 0.15 for k in [0.9, 1.5]); brute force: solve_ivp")
    head = ("design", "theta", "exact", "rel err", "worst dev", "at k", "band", "s/step")
    print("{:<8} {:>9} {:>9} {:>9} {:>10} {:>6} {:>8} {:>7}".format(*head))
    for name in ("robust", "nominal"):
        r = d[name]
        bf = r["brute_force"]
        print(
            f"{name:<8} {r['theta']:9.5f} {r['theta_exact']:9.5f} {r['theta_rel_error']:9.1e} "
            f"{bf['max_deviation']:10.4f} {bf['worst_k']:6.3f} "
            f"{'met' if bf['meets_band'] else 'VIOLATED':>8} "
            f"{r['s_per_step']:7.4f}"
        )
    print(f"robust state at k = 1: relative L2 {d['robust']['state_rel_l2_at_nominal_k']:.2e} (float64)")
    lp = lp_table()
    print("\nrobust LP: max c.x s.t. a(xi).x <= b, 0 <= x <= 1 (3 uncertain coefficients)")
    print(f"{'set':<22} {'pinnopt':>9} {'scipy':>9} {'rel diff':>9}")
    for r in lp:
        print(f"{r['set']:<22} {r['pinnopt']:9.5f} {r['reference']:9.5f} {r['rel_diff']:9.1e}")
    report = benchmark_report(
        "robust",
        {"design": d, "lp": lp},
        command=COMMAND + ("" if args.steps == 1000 else f" --steps {args.steps}"),
        torch_threads=torch.get_num_threads(),
    )
    write_json(report, OUT)
    print(f"\nwrote {OUT}; rerun: {COMMAND}")
    return report


if __name__ == "__main__":
    main()
