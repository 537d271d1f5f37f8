"""The worked examples of docs/optimization.md: problems made of parameters, no unknown function.

1. ``minimax``: min over theta of max over xi in [0, 1] of (theta - 2 xi)^2 (theta* = 1, value 1).
2. ``decay_fit``: ``A exp(-k t)`` fitted to 41 noisy samples under the active bound ``k <= 1.2``,
   against scipy's SLSQP on the same data (exponential barrier ``m = 1e6`` and exact reparam).
3. ``network_fit``: a 2 -> 16 -> 16 -> 1 network fitted to 256 noisy samples of
   ``0.5 max(0, x + y)`` under ``u >= 0`` over the box (barrier, continuation 1 -> 100),
   a Gaussian prior on its weights, mini-batches of 32; feasibility on a 201 x 201 grid.
4. ``robust_line``: ``a (x + d) + b`` fitted to 64 noisy samples with the worst case over a
   shared input shift ``d in [-0.5, 0.5]``, against the closed form
   ``a* = cov(x, y) / (var(x) + e^2)``, ``b* = mean(y) - a* mean(x)``.
5. ``robust_gain``: a ``torch.nn.Linear`` fitted to 50 noisy samples seen through an uncertain
   sensor gain ``g in [0.8, 1.2]`` (observations of ``g * u``), worst case over ``g``, against
   scipy's SLSQP on the epigraph form ``min t s.t. t >= misfit(g)`` for ``g = 0.8, 1.2``.

    python -m benchmarks.optimization     # writes benchmarks/results/optimization.json
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import sympy as sp
import torch
from scipy.optimize import minimize

import pinnopt as po
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS


def minimax() -> dict[str, Any]:
    theta, xi = sp.symbols("theta xi")
    problem = po.Problem(
        minimize=(theta - 2 * xi) ** 2,
        parameters={theta: 0.0},
        uncertain={xi: po.robust.BoxSet(0, 1)},
        exact_parameters={theta: 1.0},
    )
    t0 = time.perf_counter()
    result = po.solve(problem, phases=[po.optim.LBFGS(steps=50)])
    (group,) = result.robust.groups
    return {
        "name": "minimax",
        "theta": result.parameters["theta"],
        "value": result.robust.robust_objective,
        "worst_xi": group.worst["xi"],
        "certified": group.certified,
        "steps": result.steps,
        "wall_s": time.perf_counter() - t0,
    }


def decay_fit() -> list[dict[str, Any]]:
    A, k, t = sp.symbols("A k t")
    rng = np.random.default_rng(0)
    T = np.linspace(0, 2, 41)
    Y = 2.0 * np.exp(-1.5 * T) + 0.02 * rng.standard_normal(T.size)
    ref = minimize(
        lambda p: np.mean((p[0] * np.exp(-p[1] * T) - Y) ** 2),
        [1.0, 0.5],
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda p: 1.2 - p[1]}],
        options={"ftol": 1e-15, "maxiter": 500},
    ).x
    rows = []
    for label, bound in (
        ("barrier m=1e6", po.Bound(k <= 1.2, m=1e6)),
        ("reparam", po.Bound(k <= 1.2, method="reparam")),
    ):
        problem = po.Problem(
            po.Interval(t, 0, 2),
            data=[po.Observations({t: T}, {A * sp.exp(-k * t): Y})],
            parameters={A: 1.0, k: 0.5},
            bounds=[bound],
        )
        t0 = time.perf_counter()
        result = po.solve(problem, phases=[po.optim.LBFGS(steps=500)])
        p = result.parameters
        rows.append(
            {
                "name": f"decay_fit ({label})",
                "A": p["A"],
                "k": p["k"],
                "scipy_A": float(ref[0]),
                "scipy_k": float(ref[1]),
                "max_abs_diff": float(max(abs(p["A"] - ref[0]), abs(p["k"] - ref[1]))),
                "steps": result.steps,
                "wall_s": time.perf_counter() - t0,
            }
        )
    return rows


def network_fit(steps: int = 1500) -> dict[str, Any]:
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(256, 2))
    Y = 0.5 * np.maximum(0.0, X[:, 0] + X[:, 1]) + 0.05 * rng.standard_normal(256)
    problem = po.Problem(
        po.Box([x, y], [-1, -1], [1, 1]),
        data=[po.Observations(X, {u: Y})],
        bounds=[po.Bound(u >= 0, m=100.0, n=512, continuation=po.Continuation(1.0))],
        regularization=[po.WeightPrior(1e-5)],
    )
    t0 = time.perf_counter()
    result = po.solve(
        problem,
        model=po.nn.MLP(width=16, depth=2),
        phases=[po.optim.Adam(steps=steps, lr=1e-2)],
        batch=po.optim.MiniBatch(32, scale_lr=True),
        log_every=500,
    )
    wall = time.perf_counter() - t0
    feas = po.validate.feasibility(result, n=201 * 201)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 201), np.linspace(-1, 1, 201)), -1).reshape(-1, 2)
    clean = 0.5 * np.maximum(0.0, grid.sum(1))
    pred = result.predict(grid)["u"]
    hist = result.history.as_arrays()
    entry = feas["bound:u(x,y)>=0"]
    free = po.solve(  # the same fit without the bound, for contrast
        po.Problem(problem.domain, data=problem.data, regularization=problem.regularization),
        model=po.nn.MLP(width=16, depth=2),
        phases=[po.optim.Adam(steps=steps, lr=1e-2)],
        batch=po.optim.MiniBatch(32, scale_lr=True),
        log_every=500,
    )
    free_pred = free.predict(grid)["u"]
    return {
        "name": "network_fit",
        "data_mse": float(hist["term/data:u"][-1]),
        "noise_variance": 0.05**2,
        "rel_l2_vs_noise_free": float(np.linalg.norm(pred - clean) / np.linalg.norm(clean)),
        "dense_grid_points": entry.n_points,
        "max_violation": entry.max_violation,
        "min_u": entry.min_slack,
        "feasible": feas.feasible,
        "data_below_zero": int((Y < 0).sum()),
        "unbounded_min_u": float(free_pred.min()),
        "unbounded_share_below_zero": float((free_pred < 0).mean()),
        "unbounded_rel_l2_vs_noise_free": float(np.linalg.norm(free_pred - clean) / np.linalg.norm(clean)),
        "steps": result.steps,
        "wall_s": wall,
    }


def robust_line(steps: int = 1500) -> dict[str, Any]:
    x, a, b, d = sp.symbols("x a b d")
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, 64)
    Y = 1.5 * X + 0.3 + 0.1 * rng.standard_normal(64)
    e = 0.5
    a_star = float(np.mean((X - X.mean()) * (Y - Y.mean())) / (X.var() + e**2))
    b_star = float(Y.mean() - a_star * X.mean())
    value = float(np.mean((a_star * X + b_star - Y) ** 2) + e**2 * a_star**2)
    problem = po.Problem(
        po.Interval(x, -1, 1),
        data=[po.Observations({x: X}, {a * (x + d) + b: Y})],
        parameters={a: 0.0, b: 0.0},
        uncertain={d: po.robust.BoxSet(-e, e)},
    )
    t0 = time.perf_counter()
    result = po.solve(
        problem,
        phases=[po.optim.Adam(steps=steps, lr=3e-2, schedule=po.optim.CosineDecay())],
        robust=po.robust.Robust(method=po.robust.Vertices()),
        log_every=steps,
    )
    wall = time.perf_counter() - t0
    nominal = po.solve(problem, robust=False, phases=[po.optim.LBFGS(steps=100)])
    return {
        "name": "robust_line",
        "a": result.parameters["a"],
        "b": result.parameters["b"],
        "closed_form_a": a_star,
        "closed_form_b": b_star,
        "worst_value": result.robust.robust_objective,
        "closed_form_value": value,
        "least_squares_a": nominal.parameters["a"],
        "least_squares_worst_value": nominal.robust.robust_objective,
        "steps": result.steps,
        "wall_s": wall,
    }


def robust_gain(steps: int = 2000) -> dict[str, Any]:
    x, g = sp.symbols("x g")
    u = sp.Function("u")(x)
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, 50)
    Y = 2.0 * X + 0.5 + 0.05 * rng.standard_normal(50)

    def misfit(p: np.ndarray, gain: float) -> float:
        return float(np.mean((gain * (p[0] * X + p[1]) - Y) ** 2))

    ref = minimize(
        lambda z: z[2],
        [1.0, 0.0, 10.0],
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda z, G=G: z[2] - misfit(z[:2], G)} for G in (0.8, 1.2)],
        options={"ftol": 1e-14, "maxiter": 500},
    ).x
    problem = po.Problem(
        po.Interval(x, 0, 1),
        data=[po.Observations({x: X}, {g * u: Y})],
        uncertain={g: po.robust.BoxSet(0.8, 1.2)},
    )
    torch.manual_seed(0)
    net = torch.nn.Linear(1, 1).double()
    t0 = time.perf_counter()
    result = po.solve(
        problem,
        model=net,
        phases=[po.optim.Adam(steps=steps, lr=5e-2, schedule=po.optim.CosineDecay())],
        robust=po.robust.Robust(method=po.robust.Vertices()),
        log_every=steps,
    )
    return {
        "name": "robust_gain",
        "w": float(net.weight.detach()),
        "c": float(net.bias.detach()),
        "scipy_w": float(ref[0]),
        "scipy_c": float(ref[1]),
        "worst_value": result.robust.robust_objective,
        "scipy_value": float(ref[2]),
        "steps": result.steps,
        "wall_s": time.perf_counter() - t0,
    }


def main() -> list[dict[str, Any]]:
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    rows = [minimax(), *decay_fit(), network_fit(), robust_line(), robust_gain()]
    cmd = "python -m benchmarks.optimization"
    path = write_json(benchmark_report("optimization", rows, command=cmd), RESULTS / "optimization.json")
    for row in rows:
        logging.getLogger("benchmarks").warning("%s", row)
    logging.getLogger("benchmarks").warning("wrote %s", path)
    return rows


if __name__ == "__main__":
    main()
