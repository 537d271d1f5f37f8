"""Second-order phases against Adam + L-BFGS at equal wall time, side by side in one process.

    python -m benchmarks.optimizers                      # 2-D Poisson (issue 16 config), 120 s each
    python -m benchmarks.optimizers --seconds 30         # shorter
    python -m benchmarks.optimizers --problems poisson2d heat1d --seconds 120
    python -m benchmarks.optimizers --problems diffusion_inverse_clean --seconds 30
    python -m benchmarks.optimizers --problems burgers_rar --seconds 300
    python -m benchmarks.optimizers --problems laplace_disk --match-recommended-time --append
    python -m benchmarks.optimizers --runs adam+lbfgs adam+ssbfgs adam+ssbroyden --append
    python -m benchmarks.optimizers --problems diffusion_reaction_lm --seconds 180 --append
    python -m benchmarks.optimizers --problems helmholtz2d_lm --seconds 360 --append
    python -m benchmarks.optimizers --problems poisson2d_lm heat1d_lm klein_gordon_lm --seconds 60 --append
    python -m benchmarks.optimizers --problems wave1d_lm --seconds 600 --append

``poisson_sin`` is the issue's configuration: -lap u = 2 pi^2 sin(pi x) sin(pi y) on the unit
square, soft u = 0 on the sides, 3 x 20 tanh, 2000 interior + 4 x 100 boundary points,
float64, one thread; "adam+lbfgs" is Adam(1000) then L-BFGS, "lm" is LevenbergMarquardt
from the start, "adam+ssbfgs" / "adam+ssbroyden" Adam(1000) then the dense self-scaled
quasi-Newton phase, each stopped by TimeLimit(seconds). A library problem name runs its
recommended configuration (stopped at the same time) against LevenbergMarquardt with a
3 x 20 tanh network and the recommended points and options; ``--match-recommended-time``
stops LM at the wall time the recommended run took (for those that end on their step budget
before ``seconds``). ``burgers_rar`` runs Burgers'
recommended configuration against Adam(500) then LM on 4 x 20 tanh with RAR every 25 steps;
``diffusion_inverse_clean`` the inverse problem with noise-free data. A problem with robust
(worst-case) groups (``robust_design``) runs LM, and Adam(1000) then LM, on its recommended
network and groups. ``diffusion_reaction_lm``, ``helmholtz2d_lm``... (a key of
``LM_ON_RECOMMENDED`` + ``_lm``) run the recommended configuration against (a short Adam
warm-up then) LM on the recommended network, hard constraints and dtype, with fewer points.
Writes
benchmarks/results/optimizers.json and prints a markdown table. Wall times on a shared machine
are noisy: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import sympy as sp
import torch

import pinnopt as po

from .common import RESULTS
from .lm_recommended import BEFORE

ROOT = Path(__file__).resolve().parent.parent
LM_MODEL = po.nn.MLP(width=20, depth=3)
"""The network of the library problems' LM runs: J^T J of the recommended (wider) networks
costs seconds per step on one thread."""


LM_ON_RECOMMENDED: dict[str, tuple[str, dict[str, Any]]] = {
    "diffusion_reaction": (
        "adam(300)+lm, 1000 points",
        {
            "collocation": po.Collocation(interior=1000, boundary=100),
            "phases": [po.optim.Adam(300, lr=1e-3), po.optim.LevenbergMarquardt(10**6)],
        },
    ),
    "helmholtz2d": (  # Adam(300) first did not lower the loss: LM from the start
        "lm, 1000 points",
        {
            "collocation": po.Collocation(interior=1000, boundary=100),
            "phases": [po.optim.LevenbergMarquardt(10**6)],
        },
    ),
    "wave1d": (  # 800 fixed points for 12737 parameters overfit: new points every 10 LM steps
        "lm, 800 points, resample every 10",
        {
            "collocation": po.Collocation(interior=800, boundary=100),
            "phases": [po.optim.LevenbergMarquardt(10**6)],
            "strategies": [po.sample.Resample(every=10, sets=["interior"])],
        },
    ),
    **{  # the 60 s wins of the 3 x 20 rows, again on the recommended network
        name: (
            "lm, 1000 points",
            {
                "collocation": po.Collocation(interior=1000, boundary=100),
                "phases": [po.optim.LevenbergMarquardt(10**6)],
            },
        )
        for name in ("poisson2d", "heat1d", "klein_gordon")
    },
}
"""``<problem>_lm``: the recommended configuration against LM on the same network, hard
constraints and dtype, with fewer points (a rows x rows system: ``solver="auto"`` solves
with ``J J^T`` when there are fewer residuals than parameters)."""


def poisson_sin() -> po.Problem:
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y)
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(y, 0, 1),
        equations=[-(u.diff(x, 2) + u.diff(y, 2)) - 2 * sp.pi**2 * exact],
        conditions=[po.On(sp.Eq(s, v), u) for s in (x, y) for v in (0, 1)],
        exact=exact,
        name="poisson_sin",
    )


def _recommended(name: str, mod: Any) -> dict[str, Any]:
    """The recommended configuration the rows compare against: for problems that switched to
    Levenberg-Marquardt after these rows were measured (heat1d, poisson2d, klein_gordon), their
    previous Adam + L-BFGS one (``benchmarks.lm_recommended.BEFORE``), so a rerun compares the
    same arms."""
    return BEFORE[name]() if name in BEFORE else dict(mod.recommended())


def configs(name: str, seconds: float) -> tuple[po.Problem, dict[str, dict[str, Any]]]:
    """The problem and ``{label: solve options}`` of the runs to compare."""
    stop = po.stop.TimeLimit(seconds)
    if name == "poisson_sin":
        base = {
            "model": po.nn.MLP(width=20, depth=3),
            "collocation": po.Collocation(interior=2000, boundary=100),
            "dtype": "float64",
            "stop": stop,
        }
        return poisson_sin(), {
            "adam+lbfgs": {**base, "phases": [po.optim.Adam(1000, lr=1e-3), po.optim.LBFGS(10**6)]},
            "lm": {**base, "phases": [po.optim.LevenbergMarquardt(10**6)]},
            "adam+ssbfgs": {**base, "phases": [po.optim.Adam(1000, lr=1e-3), po.optim.SSBFGS(10**6)]},
            "adam+ssbroyden": {**base, "phases": [po.optim.Adam(1000, lr=1e-3), po.optim.SSBroyden(10**6)]},
        }
    sys.path.insert(0, str(ROOT))
    if name == "burgers_rar":  # a front: LM between rounds of residual-based refinement
        mod = importlib.import_module("problems.burgers")
        rec = {**mod.recommended(), "stop": stop}
        lm = {
            "model": po.nn.MLP(width=20, depth=4),
            "collocation": po.Collocation(interior=2000, boundary=80),
            "phases": [po.optim.Adam(500, lr=2e-3), po.optim.LevenbergMarquardt(10**6)],
            "strategies": [po.sample.RAR(every=25, add=100, candidates=10000, sets=["interior"], start=525)],
            "dtype": "float64",
            "stop": stop,
        }
        return mod.make_problem(), {"recommended": rec, "adam+lm+rar (4 x 20)": lm}
    if name == "diffusion_inverse_clean":  # noise-free data: the coefficient itself is the check
        mod = importlib.import_module("problems.diffusion_inverse")
        base = {**mod.recommended(), "stop": stop}
        return mod.make_problem(noise=0.0), {
            "recommended": base,
            "lm": {**base, "phases": [po.optim.LevenbergMarquardt(10**6)]},
        }
    if name.endswith("_lm") and name[:-3] in LM_ON_RECOMMENDED:  # LM on the recommended network
        mod = importlib.import_module(f"problems.{name[:-3]}")
        rec = {**_recommended(name[:-3], mod), "stop": stop}
        label, overrides = LM_ON_RECOMMENDED[name[:-3]]
        return mod.make_problem(), {"recommended": rec, label: {**rec, **overrides}}
    mod = importlib.import_module(f"problems.{name}")
    rec = {**_recommended(name, mod), "stop": stop}
    if "robust" in rec:  # worst-case terms at their maximizer; the recommended (parametric) network
        return mod.make_problem(), {
            "recommended": rec,
            "lm": {**rec, "phases": [po.optim.LevenbergMarquardt(10**6)]},
            "adam(1000)+lm": {
                **rec,
                "phases": [po.optim.Adam(1000, lr=3e-3), po.optim.LevenbergMarquardt(10**6)],
            },
        }
    lm = {**rec, "model": LM_MODEL, "phases": [po.optim.LevenbergMarquardt(10**6)]}
    return mod.make_problem(), {"recommended": rec, "lm (3 x 20)": lm}


def run(
    name: str, seconds: float, labels: list[str] | None = None, match_first: bool = False
) -> list[dict[str, Any]]:
    """Solve ``name``'s runs (those in ``labels`` if given) one after the other.

    With ``match_first`` the runs after the first stop once they trained as long as the first
    one did (its training wall time, when it ended before ``seconds``, e.g. on its step
    budget): equal time for a recommended configuration that finishes early.
    """
    problem, runs = configs(name, seconds)
    if labels is not None:
        unknown = sorted(set(labels) - set(runs))
        if unknown:
            raise SystemExit(f"{name}: no run(s) {unknown}; available: {sorted(runs)}")
        runs = {k: v for k, v in runs.items() if k in labels}
    rows: list[dict[str, Any]] = []
    for label, options in runs.items():
        limit = seconds
        if match_first and rows and "train_s" in rows[0]:
            limit = min(seconds, rows[0]["train_s"])
            options = {**options, "stop": po.stop.TimeLimit(limit)}
        t0 = time.perf_counter()
        try:
            res = po.solve(problem, seed=0, **options)
        except po.ConfigError as exc:
            rows.append({"problem": name, "run": label, "error": str(exc), "seconds": limit})
            continue
        wall = time.perf_counter() - t0
        rel = res.validate().worst_rel_l2
        fitted = {k: v for k, v in res.parameters.items()}
        exact = {str(p.symbol): p.exact for p in problem.parameters if p.exact is not None}
        param_err = {k: abs(fitted[k] - v) / abs(v) for k, v in exact.items() if k in fitted}
        rows.append(
            {
                "problem": name,
                "run": label,
                "rel_l2": rel,
                "wall_s": round(wall, 1),
                "train_s": round(res.outcome.wall_time_s, 2),
                "steps": res.steps,
                "stop": res.stop_reason.name,
                "seconds": limit,
                "parameter_rel_error": param_err,
                "loss": float(res.history.loss[-1]),
                "phases": [repr(p) for p in options["phases"]],
            }
        )
        logging.getLogger("benchmarks").info("%s %s: rel L2 %.3e in %.0f s", name, label, rel, wall)
    return rows


def _secs(s: float) -> str:
    return f"{s:.0f}" if s >= 10 else f"{s:.1f}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| problem | run | rel L2 | parameter rel. error | wall s (limit) | steps | stop |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['problem']} | {r['run']} | refused: {r['error'][:60]} | | | | |")
            continue
        lines.append(
            f"| {r['problem']} | {r['run']} | {r['rel_l2']:.2e} | "
            + (", ".join(f"{k} {v:.1e}" for k, v in r["parameter_rel_error"].items()) or "-")
            + f" | {_secs(r['wall_s'])} ({_secs(r.get('seconds', 0))}) | {r['steps']} | {r['stop']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="wall time of each run")
    parser.add_argument("--problems", nargs="+", default=["poisson_sin"])
    parser.add_argument("--runs", nargs="+", help="only these runs of each problem (e.g. adam+ssbfgs)")
    parser.add_argument(
        "--match-recommended-time",
        action="store_true",
        help="stop the runs after the first (a library problem's recommended) at the wall time it took",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "optimizers.json")
    parser.add_argument("--append", action="store_true", help="add the rows to those already in --out")
    parser.add_argument("--table", action="store_true", help="only print the table of the rows in --out")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.out.read_text())["rows"]))
        return
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    for name in args.problems:
        rows += run(name, args.seconds, args.runs, args.match_recommended_time)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.optimizers " + " ".join(sys.argv[1:] if argv is None else argv)
    runs = [{"command": command, "threads": 1}]
    if args.append and args.out.exists():
        old = json.loads(args.out.read_text())
        rows, runs = old["rows"] + rows, old.get("runs", []) + runs
    args.out.write_text(json.dumps({"runs": runs, "rows": rows}, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
