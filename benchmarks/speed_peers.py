"""Speed side by side with DeepXDE and a hand-written PyTorch loop, in one process.

Part ``steps``: steps/s on the cases of :mod:`benchmarks.peers` (Burgers 3 x 20 with
2540 + 80 + 160 points, Burgers 5 x 100 with 8192 + 2048 + 2048, Poisson 2-D 4 x 50 with
4096 + 1024), float32, full-batch Adam lr 1e-3, every runner from fixed weights, alternating
round by round (:func:`benchmarks.common.interleaved`). Runners:

- ``pinnopt``: the trainer with the default engine (``AutoEngine``: fused Taylor mode here);
- ``pinnopt_compiled``: the same with ``compile=True`` (``torch.compile`` of the objective;
  its compile time, the wall time of the first step, is reported separately);
- ``pinnopt_float64``: the default engine in float64 (pinnopt's default dtype);
- ``pinnopt_autograd``: ``AutogradEngine`` and the per-parameter Adam loop (``fused=False``),
  i.e. the hand-written loop's math and kernels: the ratio to ``hand`` is the framework's
  overhead;
- ``hand``: nested reverse-mode autograd, one model call per point set, ``torch.optim.Adam``;
- ``deepxde``: DeepXDE 1.15 (PyTorch backend) ``Model.train`` with its test-loss evaluations
  switched off (see :func:`benchmarks.peers.deepxde_runner`).

Part ``error``: DeepXDE's documented Burgers recipe (t in [0, 0.99], Adam 15000 steps lr
1e-3, then L-BFGS) and its final relative L2 error against the Cole-Hopf solution on the
256 x 100 grid; then the wall time pinnopt needs to reach that error (``MetricThreshold``,
metric every 100 steps), every cost included (problem setup, compilation).

Targets (issue 18): pinnopt >= 2x DeepXDE's steps/s at the small size and >= 2.5x at the
large size, and >= 1.5x the hand-written loop's at both (issue 10: time to DeepXDE's final
error <= 0.5x DeepXDE's).

    python -m benchmarks.speed_peers [--part steps error] [--cases burgers_small ...]
        [--rounds 7] [--clock wall|cpu] [--no-compile]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import pinnopt as po
from pinnopt.validate.report import benchmark_report, write_json

from . import peers
from .common import RESULTS, add_machine_options, apply_machine_options, interleaved, median, ratio_summary

OUT = RESULTS / "speed_peers.json"
STEPS = {"burgers_small": 200, "burgers_large": 2, "poisson2d": 10}
"""Steps per runner and round."""
TARGETS = {"burgers_small": 2.0, "burgers_large": 2.5}
"""Required steps/s of pinnopt over DeepXDE."""
HAND_TARGET = 1.5
"""Required steps/s of pinnopt over the hand-written loop (Burgers, both sizes)."""
TIME_TARGET = 0.5
"""Required pinnopt time to DeepXDE's final error, as a fraction of DeepXDE's time."""


def _timed_first_call(run: Callable[[int], None]) -> float:
    t0 = time.perf_counter()
    run(1)
    return time.perf_counter() - t0


def steps_part(
    cases: list[str], rounds: int, clock: Callable[[], float], compile: bool, scale: float = 1.0
) -> dict[str, Any]:
    """steps/s of every runner on every case, side by side (``scale`` multiplies the steps per round)."""
    have_dde = peers.deepxde_available() is not None
    out: dict[str, Any] = {}
    for name in cases:
        case = peers.CASES[name]
        f32, f64 = torch.float32, torch.float64
        runners: dict[str, Callable[[int], None]] = {"pinnopt": peers.pinnopt_runner(case, f32)}
        compile_s = None
        if compile:
            runners["pinnopt_compiled"] = peers.pinnopt_runner(case, f32, compile=True)
            compile_s = _timed_first_call(runners["pinnopt_compiled"])
        runners["pinnopt_float64"] = peers.pinnopt_runner(case, f64)
        runners["pinnopt_autograd"] = peers.pinnopt_runner(
            case, f32, po.nn.AutogradEngine(), fused_adam=False
        )
        runners["hand"] = peers.hand_runner(case, f32)
        if have_dde:
            runners["deepxde"] = peers.deepxde_runner(case)
        load0 = os.getloadavg()
        steps = max(1, round(STEPS[name] * scale))
        rates = interleaved(runners, steps, rounds, clock=clock)
        entry: dict[str, Any] = {
            **case.describe(),
            "steps_per_round": steps,
            "steps_per_s": {k: median(v) for k, v in rates.items()},
            "steps_per_s_rounds": rates,
            "load_average": [load0[0], os.getloadavg()[0]],
            "compile_s": compile_s,
            "ratios": {},
        }
        pairs = [("pinnopt", "hand"), ("pinnopt_autograd", "hand")]
        if compile:
            pairs.append(("pinnopt_compiled", "hand"))
        if have_dde:
            pairs += [(k, "deepxde") for k in runners if k.startswith("pinnopt") or k == "hand"]
        for a, b in pairs:
            entry["ratios"][f"{a}/{b}"] = ratio_summary(rates, a, b)
        if have_dde and name in TARGETS:
            entry["target"] = {
                "required": TARGETS[name],
                "eager": entry["ratios"]["pinnopt/deepxde"]["median"],
                "compiled": entry["ratios"].get("pinnopt_compiled/deepxde", {}).get("median"),
            }
        if name in TARGETS:
            entry["hand_target"] = {
                "required": HAND_TARGET,
                "eager": entry["ratios"]["pinnopt/hand"]["median"],
            }
        out[name] = entry
        _print_steps(name, entry)
    return out


def _print_steps(name: str, e: dict[str, Any]) -> None:
    sps = ", ".join(f"{k} {v:.2f}" for k, v in e["steps_per_s"].items())
    print(f"\n{name} ({e['network']}, {e['points']} points): steps/s {sps}")
    if e["compile_s"] is not None:
        print(f"  pinnopt_compiled: first step (compilation) {e['compile_s']:.1f} s")
    for k, r in e["ratios"].items():
        print(f"  {k}: x{r['median']:.2f} [{r['min']:.2f}, {r['max']:.2f}]")


# -- time to DeepXDE's final error -------------------------------------------------------------


def burgers_grid() -> tuple[np.ndarray, np.ndarray]:
    """The 256 x 100 grid over [-1, 1] x [0, 0.99] and the Cole-Hopf solution on it."""
    from problems._cole_hopf import burgers_exact

    xs, ts = np.linspace(-1.0, 1.0, 256), np.linspace(0.0, 0.99, 100)
    grid = np.stack([g.ravel() for g in np.meshgrid(xs, ts, indexing="ij")], axis=1)
    return grid, burgers_exact(grid[:, 0], grid[:, 1], nu=peers.NU)


def _rel_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))


def deepxde_recipe(seed: int = 0, adam_steps: int = 15000) -> dict[str, Any]:
    """DeepXDE's Burgers example as documented, timed phase by phase."""
    grid, ref = burgers_grid()
    case = dataclasses.replace(peers.CASES["burgers_small"], t_end=0.99)
    t0, c0 = time.perf_counter(), time.process_time()
    model = peers.deepxde_model(case, seed)
    model.train(iterations=adam_steps, display_every=1000, verbose=0)
    t_adam, c_adam = time.perf_counter() - t0, time.process_time() - c0
    err_adam = _rel_l2(model.predict(grid)[:, 0], ref)
    loss_adam = float(np.sum(model.train_state.loss_train))
    model.compile("L-BFGS")
    step0 = model.train_state.step
    model.train(verbose=0)
    t_all, c_all = time.perf_counter() - t0, time.process_time() - c0
    state = model.opt.state_dict()["state"][0]
    params = [p for p in model.net.parameters()]
    grad_max = max(float(p.grad.abs().max()) for p in params if p.grad is not None)
    loss_end = float(np.sum(model.train_state.loss_train))
    lbfgs = {
        "outer_steps": int(model.train_state.step - step0),
        "n_iter": int(state["n_iter"]),
        "func_evals": int(state["func_evals"]),
        "max_iter": int(peers._deepxde().optimizers.config.LBFGS_options["maxiter"]),
        "loss_before": loss_adam,
        "loss_after": loss_end,
        "grad_max_at_end": grad_max,
        "stop": (
            "DeepXDE's loop ends when a torch.optim.LBFGS call makes a single iteration; with "
            "tolerance_change=0 (ftol) and tolerance_grad=1e-8 in float32 that happens when an "
            "iteration leaves the loss unchanged or the line search makes no progress"
        ),
    }
    return {
        "recipe": (
            "TimePDE 2540+80+160, FNN [2]+[20]*3+[1] tanh Glorot normal, Adam 15000 lr 1e-3, then L-BFGS"
        ),
        "dtype": "float32",
        "adam_steps": adam_steps,
        "rel_l2_after_adam": err_adam,
        "rel_l2": _rel_l2(model.predict(grid)[:, 0], ref),
        "wall_s_adam": t_adam,
        "wall_s": t_all,
        "cpu_s_adam": c_adam,
        "cpu_s": c_all,
        "lbfgs": lbfgs,
    }


VARIANTS: dict[str, dict[str, Any]] = {
    "defaults_float64": {"dtype": "float64", "phases": None, "compile": False},
    "defaults_float32": {"dtype": "float32", "phases": None, "compile": False},
    "deepxde_schedule_float32": {
        "dtype": "float32",
        "phases": [po.optim.Adam(steps=15000, lr=1e-3), po.optim.LBFGS(steps=5000)],
        "compile": False,
    },
    "deepxde_schedule_float32_compiled": {
        "dtype": "float32",
        "phases": [po.optim.Adam(steps=15000, lr=1e-3), po.optim.LBFGS(steps=5000)],
        "compile": True,
    },
    "defaults_float64_own_points": {"dtype": "float64", "phases": None, "compile": False, "own_points": True},
}
"""pinnopt runs to DeepXDE's error, on DeepXDE's training points: solve's default phases (Adam
2000 lr 1e-3, then L-BFGS) in float64 (solve's default dtype) and float32, and DeepXDE's
schedule (eager and compiled); last, the defaults on pinnopt's own (uniform random) points."""


def deepxde_points(seed: int = 0) -> dict[str, np.ndarray]:
    """The training points of DeepXDE's Burgers recipe (Hammersley), by pinnopt region name."""
    case = dataclasses.replace(peers.CASES["burgers_small"], t_end=0.99)
    data = peers.deepxde_model(case, seed).data
    x = np.asarray(data.train_x_all, dtype=np.float64)  # initial, then boundary, then domain points
    initial, boundary = x[: case.initial], x[case.initial : case.initial + case.boundary]
    return {
        "interior": x[case.initial + case.boundary :],
        "x=-1": boundary[boundary[:, 0] < 0],
        "x=1": boundary[boundary[:, 0] > 0],
        "t=0": initial,
    }


def pinnopt_to_error(
    target: float,
    dtype: str,
    phases: list[po.train.Phase] | None,
    compile: bool,
    points: dict[str, np.ndarray] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Wall time of ``po.solve`` (setup included) until the rel. L2 error reaches ``target``.

    ``points``: training points by region (default: pinnopt samples its own, uniform random).
    """
    grid, ref = burgers_grid()
    t0, c0 = time.perf_counter(), time.process_time()
    case = dataclasses.replace(peers.CASES["burgers_small"], t_end=0.99)
    problem = peers.burgers_problem(case)
    given = None
    if points is not None:
        given = {k: po.losses.PointSet(k, torch.as_tensor(v)) for k, v in points.items()}
    metric = po.stop.Metric("rel_l2", reference=(grid, ref), every=100)
    result = po.solve(
        problem,
        model=po.nn.MLP(width=case.width, depth=case.depth),
        phases=phases,
        collocation=given if given is not None else po.Collocation(interior=case.interior),
        dtype=dtype,
        seed=seed,
        stop=po.stop.MetricThreshold(target, metric),
        runtime=po.Runtime(device="cpu", compile=compile, progress=False),
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pred = result.predict(grid)
    pred = np.asarray(pred["u"] if isinstance(pred, dict) else pred).reshape(-1)
    return {
        "dtype": dtype,
        "phases": " + ".join(result.config["phases"]),
        "default_phases": phases is None,
        "points": "DeepXDE's (Hammersley)" if points is not None else "pinnopt's (uniform random)",
        "compile": compile,
        "reached": result.stop_reason is po.stop.StopReason.METRIC_THRESHOLD,
        "stop_reason": result.stop_reason.name,
        "steps": int(result.history.step[-1]) if result.history.step else 0,
        "rel_l2": _rel_l2(pred, ref),
        "wall_s": wall,
        "cpu_s": cpu,
    }


def error_part(variants: list[str], seed: int = 0) -> dict[str, Any]:
    load0 = os.getloadavg()
    dde = deepxde_recipe(seed)
    print(
        f"\nDeepXDE Burgers recipe: rel L2 {dde['rel_l2']:.3e} (after Adam {dde['rel_l2_after_adam']:.3e}) "
        f"in {dde['wall_s']:.1f} s (Adam {dde['wall_s_adam']:.1f} s); L-BFGS ran "
        f"{dde['lbfgs']['n_iter']} iterations, {dde['lbfgs']['func_evals']} evaluations"
    )
    runs = {}
    shared = deepxde_points(seed)
    for key in variants:
        own = VARIANTS[key].get("own_points", False)
        options = {k: v for k, v in VARIANTS[key].items() if k != "own_points"}
        r = pinnopt_to_error(dde["rel_l2"], seed=seed, points=None if own else shared, **options)
        r["time_over_deepxde"] = r["wall_s"] / dde["wall_s"] if r["reached"] else None
        runs[key] = r
        verdict = f"x{r['time_over_deepxde']:.2f} of DeepXDE's time" if r["reached"] else "not reached"
        print(f"{key}: {r['wall_s']:.1f} s, {r['steps']} steps, rel L2 {r['rel_l2']:.3e} ({verdict})")
    best = min((r["time_over_deepxde"] for r in runs.values() if r["reached"]), default=None)
    return {
        "deepxde": dde,
        "pinnopt": runs,
        "target": {"required": TIME_TARGET, "best": best},
        "load_average": [load0[0], os.getloadavg()[0]],
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--part", nargs="+", default=["steps", "error"], choices=["steps", "error"])
    ap.add_argument("--cases", nargs="+", default=list(peers.CASES), choices=list(peers.CASES))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile runners")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a tenth of the steps per round, nothing written (plumbing checks)",
    )
    add_machine_options(ap)
    args = ap.parse_args(argv)
    allocator = apply_machine_options(args)
    version = peers.deepxde_available()
    print(f"torch threads: {torch.get_num_threads()}, DeepXDE: {version or 'not installed'}")
    command = " ".join(["python -m benchmarks.speed_peers", *(argv if argv is not None else sys.argv[1:])])
    results = json.loads(OUT.read_text())["results"] if OUT.exists() else {}
    if "steps" in args.part:
        clock = time.perf_counter if args.clock == "wall" else time.process_time
        scale = 0.1 if args.quick else 1.0
        results["steps"] = steps_part(args.cases, args.rounds, clock, not args.no_compile, scale)
        results["steps_config"] = {
            "rounds": args.rounds,
            "clock": args.clock,
            "dtype": "float32",
            "torch_threads": torch.get_num_threads(),
            "allocator": allocator,
            "command": command,
            "date": time.strftime("%Y-%m-%d"),
        }
    if "error" in args.part:
        if version is None:
            raise SystemExit("the error part needs DeepXDE: pip install deepxde==1.15.0")
        variants = [k for k in VARIANTS if not (args.no_compile and VARIANTS[k]["compile"])]
        results["error"] = {
            **error_part(variants),
            "torch_threads": torch.get_num_threads(),
            "command": command,
            "date": time.strftime("%Y-%m-%d"),
        }
    report = benchmark_report("speed_peers", results, deepxde=version, command=command)
    if not args.quick:
        write_json(report, OUT)
    return report


if __name__ == "__main__":
    main()
