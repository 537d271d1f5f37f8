"""Obstacle problem: energy + barrier versus residual + barrier (same network, points, phases).

The obstacle problem is a variational inequality: on the contact set ``-u'' - f = 1 != 0``.
A squared residual ``(-u'' - f)^2`` on the interior therefore fights the barrier there and
converges to a different function, while the Ritz energy plus the barrier converges to
the constrained minimizer. Both runs use the library problem's recommended settings
(pinnopt.problems.obstacle) and are checked on the exact solution (relative L2 on the
1001-point evaluation grid) and by the feasibility report on 10,000 points.

    python -m benchmarks.obstacle      # writes benchmarks/results/obstacle.json
"""

from __future__ import annotations

import time
from typing import Any

import sympy as sp
from pinnopt.problems import obstacle

import pinnopt as po
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS


def residual_problem(m: float = 1e4) -> po.Problem:
    """The same bounds and conditions, with the squared residual instead of the energy."""
    x = obstacle.x
    u = sp.Function("u")(x)
    base = obstacle.make_problem(m=m)
    return po.Problem(
        domain=base.domain,
        equations=[po.On(po.interior, -u.diff(x, 2) - obstacle.F, n=128)],
        conditions=list(base.conditions),
        bounds=list(base.bounds),
        exact=obstacle.exact(),
        name="obstacle-residual",
    )


def run(label: str, problem: po.Problem, seed: int = 0) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = po.solve(problem, **obstacle.recommended(), seed=seed)
    wall = time.perf_counter() - t0
    feas = po.validate.feasibility(result, n=10_000)["u>=psi"]
    return {
        "run": label,
        "rel_l2": result.validate().rel_l2["u"],
        "max_violation": feas.max_violation,
        "min_slack": feas.min_slack,
        "contact_share": feas.share_active,
        "steps": result.steps,
        "stop_reason": result.stop_reason.name,
        "wall_time_s": wall,
    }


def main(seeds: tuple[int, ...] = (0, 1, 2)) -> list[dict[str, Any]]:
    rows = []
    print(
        f"{'run':<22} {'seed':>4} {'rel L2':>10} {'max viol':>10} {'min slack':>10} {'contact':>8} {'s':>5}"
    )
    for seed in seeds:
        for label, problem in (
            ("energy + barrier", obstacle.make_problem()),
            ("residual + barrier", residual_problem()),
        ):
            row = run(label, problem, seed) | {"seed": seed}
            rows.append(row)
            print(
                f"{label:<22} {seed:>4} {row['rel_l2']:>10.2e} {row['max_violation']:>10.2e} "
                f"{row['min_slack']:>10.2e} {100 * row['contact_share']:>7.1f}% {row['wall_time_s']:>5.0f}",
                flush=True,
            )
    report = benchmark_report(
        "obstacle", rows, dtype="float64", exact_contact_share=0.5, command="python -m benchmarks.obstacle"
    )
    print(f"wrote {write_json(report, RESULTS / 'obstacle.json')}")
    return rows


if __name__ == "__main__":
    main()
