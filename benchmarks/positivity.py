"""A positivity-bounded inverse problem: a diffusivity that must stay positive, from a bad guess.

Problem: ``-D u'' = pi^2 sin(pi x)`` on [0, 1], ``u(0) = u(1) = 0``, the diffusivity ``D``
unknown (true value 0.5, so ``u = 2 sin(pi x)``), 20 observations of ``u``. Started from
the wrong sign, ``D0 = -1``:

* unconstrained, the fit is trapped on the negative side: at ``D = 0`` the equation cannot
  be satisfied by any ``u`` (the residual is ``-pi^2 sin(pi x)``), a ridge in the loss,
  and for ``D < 0`` the data misfit keeps shrinking as ``|D|`` grows (``u = -pi^2 sin / D``
  flattens towards the data's sign), so ``D`` drifts to ``-inf``;
* with the bound ``D >= 0.01`` as an exponential barrier (``m`` raised from 1 to 1e3
  during Adam), the barrier pushes ``D`` over the ridge and the fit converges to 0.5.

For contrast, from a positive bad guess (``D0 = 0.05``) both an unconstrained run and the
exact reparameterization ``D = 0.01 + softplus(z)`` converge.

    python -m benchmarks.positivity            # writes benchmarks/results/positivity.json
    python -m benchmarks.positivity --quick    # the short CI configuration
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np
import sympy as sp

import pinnopt as po
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

D_TRUE = 0.5
LOWER = 0.01
x, D = sp.symbols("x D")

FULL = {"adam": 1000, "lbfgs": 500, "width": 20, "depth": 3, "interior": 200}
QUICK = {"adam": 300, "lbfgs": 300, "width": 16, "depth": 2, "interior": 100}


def make_problem(d0: float, bound: po.Bound | None, n_obs: int = 20, seed: int = 0) -> po.Problem:
    """The inverse problem with initial guess ``d0`` and an optional bound on ``D``."""
    u = sp.Function("u")(x)
    exact = sp.sin(sp.pi * x) / D_TRUE
    obs = np.random.default_rng(seed).uniform(0, 1, n_obs)[:, None]
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-D * u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u), po.On(po.Points(obs, "obs"), u - exact)],
        parameters=[po.Parameter(D, init=d0, exact=D_TRUE)],
        bounds=[bound] if bound is not None else [],
        exact=exact,
        name="positivity",
    )


def barrier() -> po.Bound:
    """``D >= 0.01`` by an exponential barrier with m raised from 1 to 1e3 during Adam."""
    return po.Bound(D >= LOWER, m=1e3, continuation=po.Continuation(1.0))


def reparam() -> po.Bound:
    """``D >= 0.01`` exactly, as ``D = 0.01 + softplus(z)``."""
    return po.Bound(D >= LOWER, method="reparam")


def run(
    label: str, d0: float, bound: po.Bound | None, config: dict[str, int], seed: int = 0
) -> dict[str, Any]:
    """Solve once; return D's trajectory summary, the final error and the stop reason."""
    trace: list[float] = []

    def record(view: Any, step: int) -> None:
        if step % 10 == 0:
            trace.append(float(view.scalars()["D"]))

    t0 = time.perf_counter()
    result = po.solve(
        make_problem(d0, bound),
        model=po.nn.MLP(width=config["width"], depth=config["depth"]),
        collocation=po.Collocation(interior=config["interior"], boundary=1),
        phases=[po.optim.Adam(steps=config["adam"], lr=1e-2), po.optim.LBFGS(steps=config["lbfgs"])],
        seed=seed,
        log_every=100,
        callbacks=[record],
    )
    wall = time.perf_counter() - t0
    d = result.parameters["D"]
    rel_l2 = result.validate().rel_l2["u"] if np.isfinite(d) else float("nan")
    return {
        "run": label,
        "d0": d0,
        "bound": None if bound is None else f"{bound.relation} ({bound.method})",
        "final_D": d,
        "D_rel_error": abs(d - D_TRUE) / D_TRUE,
        "min_D": min(trace) if trace else d,
        "went_negative": bool(min(trace) < 0) if trace else d < 0,
        "u_rel_l2": rel_l2,
        "steps": result.steps,
        "stop_reason": result.stop_reason.name,
        "wall_time_s": wall,
        "D_trace_every_10_steps": trace,
    }


RUNS = (
    ("unconstrained from D0=-1", -1.0, lambda: None),
    ("barrier from D0=-1", -1.0, barrier),
    ("unconstrained from D0=0.05", 0.05, lambda: None),
    ("reparam from D0=0.05", 0.05, reparam),
)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the short CI configuration")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    config = QUICK if args.quick else FULL
    rows = []
    print(
        f"{'run':<28} {'final D':>12} {'min D':>10} {'D rel err':>10} {'u rel L2':>10} {'stop':<20} {'s':>5}"
    )
    for label, d0, bound in RUNS:
        row = run(label, d0, bound(), config, args.seed)
        rows.append(row)
        print(
            f"{label:<28} {row['final_D']:>12.6g} {row['min_D']:>10.4g} {row['D_rel_error']:>10.2e} "
            f"{row['u_rel_l2']:>10.2e} {row['stop_reason']:<20} {row['wall_time_s']:>5.0f}",
            flush=True,
        )
    name = "positivity-quick" if args.quick else "positivity"
    cmd = "python -m benchmarks.positivity" + (" --quick" if args.quick else "")
    report = benchmark_report(name, rows, config=config, d_true=D_TRUE, dtype="float64", command=cmd)
    path = write_json(report, RESULTS / f"{name}.json")
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
