"""Parameter bounds: barrier shift versus m, and barrier versus exact methods, against scipy.

The objective is a least-squares fit of u(t) = A exp(-k t) (the solution of u' = -k u) to
21 samples of 2 exp(-1.5 t) + 0.01 sin(7 t), a PDE-free J(A, k), so scipy's SLSQP solves the
identical problem with the bound as a true hard constraint. The bound k <= 1.2 is active
(the free optimum is near k = 1.5); its multiplier |dJ/dk| at the constrained optimum is
about 0.058.

Table 1: the barrier's shift 1.2 - k* against the documented ln(m/|dJ|)/m (exponential)
and 1/(m |dJ|) (log). Table 2: each method's distance to scipy's optimum, its steps, and
whether the iterates stayed feasible, from a feasible start (k0 = 0.5) and from an
infeasible one (k0 = 2).

    python -m benchmarks.bounds     # writes benchmarks/results/bounds.json
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import sympy as sp
from scipy.optimize import minimize

import pinnopt as po
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

A, k = sp.symbols("A k")
T = np.linspace(0, 2, 21)
Y = 2.0 * np.exp(-1.5 * T) + 0.01 * np.sin(7 * T)
J = sum((A * sp.exp(-k * t) - y) ** 2 for t, y in zip(T, Y, strict=True)) / len(T)
UPPER = 1.2
_f = sp.lambdify((A, k), J)
_g = sp.lambdify((A, k), [J.diff(A), J.diff(k)])


def scipy_reference() -> tuple[np.ndarray, float]:
    """SLSQP optimum with k <= 1.2 as a hard constraint, and |dJ/dk| there."""
    res = minimize(
        lambda p: _f(*p),
        [1.0, 0.5],
        jac=lambda p: np.array(_g(*p)),
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda p: UPPER - p[1], "jac": lambda p: np.array([0.0, -1.0])}],
        options={"ftol": 1e-15, "maxiter": 500},
    )
    return res.x, abs(float(_g(*res.x)[1]))


def shift_table(dj: float) -> list[dict[str, Any]]:
    rows = []
    for method in ("barrier", "log"):
        for m in (1e1, 1e2, 1e3, 1e4, 1e5):
            fit = po.workflows.fit_parameters(
                J, {A: 1.0, k: 0.5}, bounds=[po.Bound(k <= UPPER, m=m, method=method)]
            )
            shift = UPPER - fit.values["k"]
            predicted = math.log(m / dj) / m if method == "barrier" else 1.0 / (m * dj)
            rows.append(
                {"method": method, "m": m, "shift": shift, "predicted": predicted, "ratio": shift / predicted}
            )
    return rows


def method_table(ref: np.ndarray) -> list[dict[str, Any]]:
    cases = [
        ("barrier m=1e3", po.Bound(k <= UPPER, m=1e3), {}),
        ("barrier m=1e4", po.Bound(k <= UPPER, m=1e4), {}),
        ("barrier m=1e5", po.Bound(k <= UPPER, m=1e5), {}),
        (
            "barrier 10->1e5, 5 rounds",
            po.Bound(k <= UPPER, m=1e5, continuation=po.Continuation(10.0)),
            {"rounds": 5},
        ),
        ("log m=1e4", po.Bound(k <= UPPER, m=1e4, method="log"), {}),
        ("reparam (softplus)", po.Bound(k <= UPPER, method="reparam"), {}),
        (
            "project, Adam 3000",
            po.Bound(k <= UPPER, method="project"),
            {"phases": [po.optim.Adam(steps=3000, lr=1e-2)]},
        ),
    ]
    rows = []
    for start in (0.5, 2.0):
        for label, bound, kw in cases:
            row: dict[str, Any] = {"method": label, "k0": start}
            t0 = time.perf_counter()
            try:
                fit = po.workflows.fit_parameters(J, {A: 1.0, k: start}, bounds=[bound], **kw)
            except po.ProblemError as exc:
                row.update({"refused": str(exc).split(";")[0]})
                rows.append(row)
                continue
            row.update(
                {
                    "A": fit.values["A"],
                    "k": fit.values["k"],
                    "error_A": abs(fit.values["A"] - ref[0]),
                    "error_k": abs(fit.values["k"] - ref[1]),
                    "max_violation": fit.feasibility.max_violation,
                    "steps": fit.steps,
                    "wall_time_s": time.perf_counter() - t0,
                }
            )
            rows.append(row)
    return rows


def main() -> dict[str, Any]:
    ref, dj = scipy_reference()
    print(f"scipy SLSQP: A = {ref[0]:.8f}, k = {ref[1]:.8f}, |dJ/dk| = {dj:.6f}")
    shifts = shift_table(dj)
    print(f"\n{'method':<8} {'m':>8} {'shift':>12} {'predicted':>12} {'ratio':>7}")
    for r in shifts:
        print(
            f"{r['method']:<8} {r['m']:>8.0e} {r['shift']:>12.4e} {r['predicted']:>12.4e} {r['ratio']:>7.3f}"
        )
    methods = method_table(ref)
    print(f"\n{'method':<27} {'k0':>4} {'|A - A*|':>10} {'|k - k*|':>10} {'max viol':>9} {'steps':>6}")
    for r in methods:
        if "refused" in r:
            print(f"{r['method']:<27} {r['k0']:>4} refused: {r['refused']}")
        else:
            print(
                f"{r['method']:<27} {r['k0']:>4} {r['error_A']:>10.2e} {r['error_k']:>10.2e} "
                f"{r['max_violation']:>9.1e} {r['steps']:>6d}"
            )
    results = {
        "scipy": {"A": ref[0], "k": ref[1], "dJ_dk": dj},
        "shift_vs_m": shifts,
        "methods": methods,
    }
    path = write_json(
        benchmark_report("bounds", results, dtype="float64", command="python -m benchmarks.bounds"),
        RESULTS / "bounds.json",
    )
    print(f"\nwrote {path}")
    return results


if __name__ == "__main__":
    main()
