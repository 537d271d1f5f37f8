"""Steps/s of this checkout against another checkout of pinnopt, alternating round by round.

Each round runs, in fresh subprocesses and in alternating order, the same training on both
checkouts: the speed_peers cases (Burgers 3 x 20 with 2540 + 80 + 160 points, Burgers
5 x 100 with 8192 + 2048 + 2048, Poisson 2-D 4 x 50 with 4096 + 1024), float32, full-batch
Adam lr 1e-3 through ``po.solve``, one thread. The marginal cost of ``--steps`` steps is
the time of a long solve minus that of a short one with the same setup (so problem
compilation and start-up cancel). The ratio is this checkout's steps/s over the
baseline's, per round; the median over rounds is reported.

    git worktree add /tmp/baseline <commit>
    python -m benchmarks.versions --baseline /tmp/baseline [--rounds 5] [--steps 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from .common import RESULTS

HERE = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time, torch
sys.path.insert(0, sys.argv[1])
import pinnopt as po
from pinnopt import problems
torch.set_num_threads(1)
case, long_steps, short_steps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
Adam = getattr(po, "optim", po).Adam
MLP = getattr(po, "nn", po).MLP
width, depth, interior, boundary, name = {
    "burgers_small": (20, 3, 2540, 80, "burgers"),
    "burgers_large": (100, 5, 8192, 2048, "burgers"),
    "poisson2d": (50, 4, 4096, 1024, "poisson2d"),
}[case]
problem = problems.get(name)

def run(steps):
    t0 = time.perf_counter()
    po.solve(problem, model=MLP(width=width, depth=depth),
             collocation=po.Collocation(interior=interior, boundary=boundary),
             phases=[Adam(steps=steps, lr=1e-3)], dtype="float32", log_every=100)
    return time.perf_counter() - t0

run(short_steps)  # warm-up (imports, allocator)
short = run(short_steps)
long = run(long_steps)
print(json.dumps({"steps_per_s": (long_steps - short_steps) / max(long - short, 1e-9)}))
"""


def _measure(checkout: Path, case: str, steps: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(checkout)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(checkout), case, str(steps + 50), "50"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=checkout,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--baseline", required=True, type=Path, help="a checkout of the baseline commit")
    ap.add_argument("--cases", nargs="+", default=["burgers_small", "burgers_large", "poisson2d"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"baseline": str(args.baseline), "rounds": args.rounds, "steps": args.steps}
    for case in args.cases:
        ratios, this, base = [], [], []
        for r in range(args.rounds):
            order = [HERE, args.baseline] if r % 2 == 0 else [args.baseline, HERE]
            got = {str(c): _measure(c, case, args.steps) for c in order}
            this.append(got[str(HERE)])
            base.append(got[str(args.baseline)])
            ratios.append(this[-1] / base[-1])
            line = f"{case} round {r}: this {this[-1]:.1f} steps/s, baseline {base[-1]:.1f}"
            print(f"{line}, ratio {ratios[-1]:.3f}")
        out[case] = {
            "this_steps_per_s": this,
            "baseline_steps_per_s": base,
            "ratios": ratios,
            "median_ratio": statistics.median(ratios),
        }
        print(f"{case}: median ratio {statistics.median(ratios):.3f}")
    path = RESULTS / "versions.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
