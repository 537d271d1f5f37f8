"""Initialization diagnostics of depth-10 MLPs: sigma too low, the right gain, too high.

For relu and tanh MLPs (depth 10, width 32) on the 1-D Poisson problem's own points,
weights N(0, (g / sqrt(fan_in))^2) with g = 0.1 (too low), the Kaiming gain (relu sqrt(2),
tanh 5/3) and a high g (relu 3: exploding, tanh 10: saturating). Writes a PNG of the
per-layer activation RMS and saturation, and a JSON report with the flags.

    python -m benchmarks.init_diagnostics [--seeds 5]
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import pinnopt as po
from pinnopt import problems
from pinnopt.validate.diagnostics import diagnose, plot_reports
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS

CASES = [
    ("relu", 0.1, "too low"),
    ("relu", math.sqrt(2), "Kaiming gain"),
    ("relu", 3.0, "too high"),
    ("tanh", 0.1, "too low"),
    ("tanh", 5 / 3, "Kaiming gain"),
    ("tanh", 10.0, "too high"),
]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--depth", type=int, default=10)
    args = ap.parse_args(argv)
    problem = problems.get("poisson1d")
    results: dict[str, Any] = {}
    plotted = {}
    print(f"{'activation':>10} {'g':>6} {'case':>13} {'last/first RMS (seeds)':>40}  flags")
    for act, g, case in CASES:
        spec = po.nn.MLP(
            width=args.width, depth=args.depth, activation=act, init=po.init.KaimingNormal(gain=g)
        )
        reps = [diagnose(problem, spec, seed=s) for s in range(args.seeds)]
        flags = sorted({f for r in reps for f in r.flags})
        label = f"{act} g={g:.3g} ({case})"
        plotted[label] = reps[0]
        results[label] = {
            "activation": act,
            "gain": g,
            "ratios": [r.ratios[0] for r in reps],
            "max_saturation": [max((s.saturation or 0.0) for s in r.layers) for r in reps],
            "flags_per_seed": [list(r.flags) for r in reps],
            "report_seed0": reps[0].to_dict(),
        }
        ratios = " ".join(f"{r.ratios[0]:.2g}" for r in reps)
        print(f"{act:>10} {g:6.3g} {case:>13} {ratios:>40}  {', '.join(flags) or 'none'}")
    png = plot_reports(
        plotted, RESULTS / "init_diagnostics.png", title=f"depth-{args.depth} MLPs at initialization"
    )
    print(f"plot: {png}")
    report = benchmark_report(
        "init_diagnostics",
        results,
        config={
            "problem": "poisson1d (2000 interior + 1 + 1 points)",
            "model": f"MLP depth {args.depth} width {args.width}, weights N(0, (g/sqrt(fan_in))^2)",
            "criterion": "last/first hidden RMS outside [0.1, 10]; saturated: >50% of |z| > 2.5 (tanh)",
            "seeds": args.seeds,
            "plot": str(png.name),
        },
        command="python -m benchmarks.init_diagnostics",
    )
    write_json(report, RESULTS / "init_diagnostics.json")
    return report


if __name__ == "__main__":
    main()
