"""The GPU checks in one command: CUDA-only tests, speed side by side, accuracy of three problems.

On a machine with CUDA it runs, in this order (each part can be skipped):

1. ``tests``: the tests that only run on CUDA (``pytest -k cuda``: the device-resident trainer
   and the fused Taylor node on CUDA against the CPU);
2. ``speed``: steps/s of pinnopt (default engine) and the hand-written loop on the Burgers
   cases of :mod:`benchmarks.peers` (and DeepXDE when installed), on the GPU, alternating
   rounds, every round synchronized; pinnopt again with TF32 matrix products allowed
   (``po.Runtime(matmul_precision="high")``) and with CUDA graphs
   (``compile={"mode": "reduce-overhead"}``, small case only), reported apart;
3. ``accuracy``: ``burgers``, ``poisson2d`` and ``allen_cahn`` with their recommended
   configuration on the GPU; each relative L2 error is compared with the stored CPU report
   (``benchmarks/results/accuracy/<name>.json``): within 1.5x passes. Then burgers' recommended
   configuration in float32, with ``po.Runtime(matmul_precision="high")`` (TF32) and without:
   TF32 is worth adopting where it is faster (``speed``) and its error is within 1.5x.

and writes ``benchmarks/results/gpu.json``. Without CUDA it is a dry run: it says what it
would run and exits 0 without writing anything.

    python -m benchmarks.gpu [--parts tests speed accuracy] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .common import RESULTS, interleaved, median, ratio_summary

OUT = RESULTS / "gpu.json"
PROBLEMS = ("burgers", "poisson2d", "allen_cahn")
CASES = ("burgers_small", "burgers_large")
STEPS = {"burgers_small": 200, "burgers_large": 50}
ACCURACY_FACTOR = 1.5
"""A GPU run passes when its relative L2 error is at most this multiple of the stored CPU one."""
ROOT = Path(__file__).resolve().parents[1]


def _synced(run: Callable[[int], None]) -> Callable[[int], None]:
    def timed(steps: int) -> None:
        run(steps)
        torch.cuda.synchronize()

    return timed


def _tf32(run: Callable[[int], None]) -> Callable[[int], None]:
    """``run`` under ``po.Runtime(matmul_precision="high")``: the TF32 setting users get."""
    import pinnopt as po

    scope = po.Runtime(matmul_precision="high").precision_scope

    def with_tf32(steps: int) -> None:
        with scope():
            run(steps)

    return with_tf32


def tests_part() -> dict[str, Any]:
    """The CUDA-only tests (``-k cuda``), in a subprocess."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-k", "cuda", "tests"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    return {
        "command": " ".join(cmd[2:]),
        "returncode": proc.returncode,
        "summary": lines[-1] if lines else "",
    }


def speed_part(rounds: int, scale: float) -> dict[str, Any]:
    """steps/s on the GPU: pinnopt (float32, default engine), with TF32, the hand loop, DeepXDE."""
    from . import peers

    out: dict[str, Any] = {}
    have_dde = peers.deepxde_available() is not None
    for name in CASES:
        case = peers.CASES[name]
        f32 = torch.float32
        runners = {
            "pinnopt": _synced(peers.pinnopt_runner(case, f32, device="cuda")),
            "pinnopt_tf32": _synced(_tf32(peers.pinnopt_runner(case, f32, device="cuda"))),
            "hand": _synced(peers.hand_runner(case, f32, device="cuda")),
        }
        if name == "burgers_small":  # launch-bound: CUDA graphs through torch.compile
            graphs = peers.pinnopt_runner(case, f32, device="cuda", compile={"mode": "reduce-overhead"})
            graphs(1)  # compilation and graph capture, outside the timed rounds
            runners["pinnopt_graphs"] = _synced(graphs)
        if have_dde:
            runners["deepxde"] = _synced(peers.deepxde_runner(case))
        steps = max(1, round(STEPS[name] * scale))
        rates = interleaved(runners, steps, rounds)
        pairs = [("pinnopt", "hand"), ("pinnopt_tf32", "pinnopt")]
        pairs += [("pinnopt_graphs", "pinnopt")] if "pinnopt_graphs" in runners else []
        pairs += [("pinnopt", "deepxde"), ("hand", "deepxde")] if have_dde else []
        out[name] = {
            **case.describe(),
            "steps_per_round": steps,
            "steps_per_s": {k: median(v) for k, v in rates.items()},
            "ratios": {f"{a}/{b}": ratio_summary(rates, a, b) for a, b in pairs},
        }
        print(f"{name}: " + ", ".join(f"{k} {v:.1f} steps/s" for k, v in out[name]["steps_per_s"].items()))
    return out


def accuracy_part(names: tuple[str, ...]) -> dict[str, Any]:
    """Each problem's recommended configuration on the GPU against its stored CPU error."""
    from pinnopt import problems
    from pinnopt.workflows.configured import run_configuration

    out: dict[str, Any] = {}
    for name in names:
        module = problems.module(name)
        options = problems.recommended(name)
        t0 = time.perf_counter()
        result = run_configuration(module.make_problem(), **options)
        wall = time.perf_counter() - t0
        worst = max(m["rel_l2"] for m in result.validate().metrics.values())  # type: ignore[union-attr]
        stored_path = RESULTS / "accuracy" / f"{name}.json"
        stored = None
        if stored_path.exists():
            stored = max(m["rel_l2"] for m in json.loads(stored_path.read_text())["metrics"].values())
        ratio = worst / stored if stored else None
        out[name] = {
            "rel_l2": worst,
            "cpu_rel_l2": stored,
            "ratio_to_cpu": ratio,
            "passes": ratio is not None and ratio <= ACCURACY_FACTOR,
            "wall_s": wall,
            "device": str(getattr(result, "device", "cuda")),
        }
        cpu = float("nan") if stored is None else stored
        print(f"{name}: rel L2 {worst:.3e} (CPU {cpu:.3e}) in {wall:.0f} s")
    return out


def tf32_accuracy_part(name: str = "burgers") -> dict[str, Any]:
    """``name``'s recommended configuration in float32 on the GPU, without and with TF32."""
    import dataclasses

    import pinnopt as po
    from pinnopt import problems
    from pinnopt.workflows.configured import run_configuration

    out: dict[str, Any] = {}
    for precision in ("highest", "high"):
        options = {**problems.recommended(name), "dtype": "float32"}
        runtime = options.get("runtime") or po.Runtime()
        options["runtime"] = dataclasses.replace(runtime, matmul_precision=precision)
        t0 = time.perf_counter()
        result = run_configuration(problems.module(name).make_problem(), **options)
        worst = max(m["rel_l2"] for m in result.validate().metrics.values())  # type: ignore[union-attr]
        out[precision] = {"rel_l2": worst, "wall_s": time.perf_counter() - t0}
        print(f"{name} float32, matmul_precision={precision}: rel L2 {worst:.3e}")
    ratio = out["high"]["rel_l2"] / out["highest"]["rel_l2"]
    out["tf32_error_ratio"] = ratio
    out["passes"] = ratio <= ACCURACY_FACTOR
    return {name: out}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--parts", nargs="+", default=["tests", "speed", "accuracy"], choices=["tests", "speed", "accuracy"]
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the steps per round, no accuracy runs")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print(
            f"dry run: no CUDA device (torch {torch.__version__}, CUDA build {torch.version.cuda}); "
            f"on a GPU this runs {', '.join(args.parts)} "
            f"(tests -k cuda; speed on {', '.join(CASES)}; accuracy of {', '.join(PROBLEMS)}) "
            f"and writes {OUT.relative_to(ROOT)}"
        )
        return {"dry_run": True, "parts": args.parts}
    results: dict[str, Any] = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    if "tests" in args.parts:
        results["tests"] = tests_part()
    if "speed" in args.parts:
        results["speed"] = speed_part(args.rounds, 0.1 if args.quick else 1.0)
    if "accuracy" in args.parts and not args.quick:
        results["accuracy"] = accuracy_part(PROBLEMS)
        results["accuracy_tf32"] = tf32_accuracy_part()
    results["command"] = " ".join(["python -m benchmarks.gpu", *(argv if argv is not None else sys.argv[1:])])
    results["date"] = time.strftime("%Y-%m-%d")
    from pinnopt.validate.report import benchmark_report, write_json

    write_json(benchmark_report("gpu", results, command=results["command"]), OUT)
    return results


if __name__ == "__main__":
    main()
