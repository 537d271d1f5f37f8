"""Batch norm against no norm on Poisson 1-D: the gap, where it comes from, and what was tried.

Four parts, all float64, seeds 0..n-1, both arms with the same network size, phases, points
and seeds (``normalization.json`` keeps the input-scaling and layer/group-norm results):

- ``comparison``: ``benchmarks.normalization.batch_norm`` (MLP 3 x 20, Adam 300 lr 1e-2
  then L-BFGS, 2 points per boundary set; Poisson 1-D and 2-D), the acceptance test.
- ``curves``: 1-D relative L2 error and loss every 50 steps, with L-BFGS run to 1500
  steps, for both arms. The error of a batch-norm network during training is taken with
  the interior statistics at the current weights (the function the objective sees).
- ``variants``: 1-D batch norm with one change each (below), against the same no-norm runs.
- ``issue``: the configuration of issue 15, ``po.solve(problems.get("poisson1d"),
  model=po.nn.MLP(norm="batch"))`` against ``po.nn.MLP()``: default network (4 x 32) and
  collocation (2000 interior, 100 per boundary set), default phases with a shortened
  budget applied to both arms (``--issue-steps``, Adam lr 1e-3 then L-BFGS).
- ``lm``: the comparison's networks, points and Adam phase, then Levenberg-Marquardt
  (200 steps in 1-D, 100 in 2-D) instead of L-BFGS, for both arms (LM differentiates the
  residuals through the shared batch statistics, :mod:`pinnopt.train.jacobian`).

Variants (each a training hook; nothing in the library changes):

- ``identity_init``: gamma, beta of every batch norm set so that the layer is the identity
  on the interior batch at initialization (gamma = sqrt(var + eps), beta = mean, layer by
  layer): the initial network is exactly the no-norm network of the same seed.
- ``freeze_lbfgs``: at the start of L-BFGS the statistics are set to the interior ones and
  held fixed (the layers switch to eval mode), so L-BFGS sees a fixed affine map.
- ``identity_init+freeze_lbfgs``: both.
- ``eps_1e-2``: eps 1e-2 instead of 1e-5 (a softer normalization of low-variance units).
- ``plain_adam_then_bn``: diagnosis, not a remedy: Adam trains with every batch norm held at
  the identity (frozen, gamma and beta fixed), i.e. exactly the no-norm Adam trajectory;
  at the start of L-BFGS the layers switch to live batch statistics with gamma, beta set
  so that the function is unchanged. This isolates L-BFGS with live statistics.

    python -m benchmarks.batch_norm [--seeds 3] [--parts comparison,curves,variants,issue,lm]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.losses.hooks import TrainingHook, TrainingView
from pinnopt.nn import norm as nm
from pinnopt.validate.report import benchmark_report, write_json

from .common import RESULTS
from .normalization import batch_norm

ADAM = 300
LBFGS = 500
PARTS = ("comparison", "curves", "variants", "issue", "lm")
LM_STEPS = {"poisson1d": 200, "poisson2d": 100}
"""Levenberg-Marquardt steps after Adam in the ``lm`` part."""


def _layers(model: torch.nn.Module) -> list[nm.BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nm.BatchNorm)]


def identity_init(model: torch.nn.Module, x: torch.Tensor) -> None:
    """gamma = sqrt(var + eps), beta = mean on ``x``, layer by layer: every norm is the identity on x."""
    with torch.no_grad():
        for i, layer in enumerate(_layers(model)):
            mean, var = nm.shared_batch_statistics(model, x)[i][1]
            layer.weight.copy_(torch.sqrt(var + nm.EPS))
            layer.bias.copy_(mean)


def freeze(model: torch.nn.Module, x: torch.Tensor) -> None:
    """Hold the statistics at those of ``x`` from now on (eval mode for the norms only)."""
    nm.calibrate_batch_norm(model, x)
    for layer in _layers(model):
        layer.training = False


class Variant(TrainingHook):
    """Applies a variant's changes at the start of training and of the L-BFGS phase.

    A diagnosis, not a strategy: the variants switch norms to eval mode, freeze gamma and beta
    and rewrite statistics, which the hook protocol's updates do not express, so the hook
    reaches the model through the view's private ``_model`` (the functions below receive
    the view)."""

    name = "batch-norm-variant"

    def __init__(self, start: Callable[[Any], None] | None, lbfgs: Callable[[Any], None] | None) -> None:
        self.start, self.lbfgs = start, lbfgs

    def on_step(self, view: TrainingView) -> None:
        return None

    def on_train_start(self, view: TrainingView) -> None:
        if self.start is not None:
            self.start(view)

    def on_phase_start(self, view: TrainingView) -> None:
        if view.phase_index == 1 and self.lbfgs is not None:
            self.lbfgs(view)


def _x(view: TrainingView) -> torch.Tensor:
    return view.points["interior"].x


def _model(view: TrainingView) -> torch.nn.Module:
    return view._model


def _plain_start(view: TrainingView) -> None:
    identity_init(_model(view), _x(view))
    for layer in _layers(_model(view)):  # the identity for any input: no-norm Adam
        layer.training = False
        layer.running_mean.copy_(layer.bias.detach())
        layer.running_var.copy_(layer.weight.detach() ** 2 - nm.EPS)
        layer.weight.requires_grad_(False)
        layer.bias.requires_grad_(False)


def _plain_switch(view: TrainingView) -> None:
    for layer in _layers(_model(view)):
        layer.training = True
        layer.weight.requires_grad_(True)
        layer.bias.requires_grad_(True)
    identity_init(_model(view), _x(view))


VARIANTS: dict[str, tuple[Callable[[Any], None] | None, Callable[[Any], None] | None, float]] = {
    "identity_init": (lambda t: identity_init(_model(t), _x(t)), None, nm.EPS),
    "freeze_lbfgs": (None, lambda t: freeze(_model(t), _x(t)), nm.EPS),
    "identity_init+freeze_lbfgs": (
        lambda t: identity_init(_model(t), _x(t)),
        lambda t: freeze(_model(t), _x(t)),
        nm.EPS,
    ),
    "eps_1e-2": (None, None, 1e-2),
    "plain_adam_then_bn": (_plain_start, _plain_switch, nm.EPS),
}


def _solve(norm: str | None, seed: int, lbfgs: int = LBFGS, **kw: Any) -> Any:
    return po.solve(
        problems.get("poisson1d"),
        model=po.nn.MLP(width=20, depth=3, norm=norm),
        seed=seed,
        phases=[po.optim.Adam(steps=ADAM, lr=1e-2), po.optim.LBFGS(steps=lbfgs)],
        collocation=po.Collocation(128, boundary=2),
        log_every=10_000,
        runtime=po.Runtime(progress=False),
        **kw,
    )


def _summary(result: Any) -> dict[str, Any]:
    loss = result.history.loss
    return {
        "rel_l2": result.validate().rel_l2["u"],
        "loss_start": float(loss[0]),
        "loss_after_adam": float(loss[ADAM - 1]),
        "loss_end": float(loss[-1]),
    }


def variants(seeds: int) -> dict[str, Any]:
    """Each variant on seeds 0..seeds-1, with the no-norm and unchanged batch-norm runs."""
    out: dict[str, Any] = {}
    arms: dict[str, tuple[str | None, Variant | None, float]] = {
        "none": (None, None, nm.EPS),
        "batch": ("batch", None, nm.EPS),
    }
    arms.update({k: ("batch", Variant(s, lb), eps) for k, (s, lb, eps) in VARIANTS.items()})
    for name, (norm, hook, eps) in arms.items():
        runs = []
        saved, nm.EPS = nm.EPS, eps
        try:
            for seed in range(seeds):
                runs.append(_summary(_solve(norm, seed, callbacks=[hook] if hook else [])))
        finally:
            nm.EPS = saved
        errors = [r["rel_l2"] for r in runs]
        out[name] = {"runs": runs, "median_rel_l2": statistics.median(errors)}
        print(f"  {name:>28}: " + " ".join(f"{e:.2e}" for e in errors), flush=True)
    base = out["none"]["median_rel_l2"]
    for entry in out.values():
        entry["ratio_to_none"] = entry["median_rel_l2"] / base
    return out


def curves(seeds: int, lbfgs: int = 1500, every: int = 50) -> dict[str, Any]:
    """Error and loss every ``every`` steps for both arms, L-BFGS run to ``lbfgs`` steps."""
    xs = torch.linspace(-1, 1, 1001, dtype=torch.float64)[:, None]
    exact = torch.sin(math.pi * xs[:, 0])
    out: dict[str, Any] = {}
    for arm, norm in (("none", None), ("batch", "batch")):
        out[arm] = {}
        for seed in range(seeds):
            points: list[tuple[int, float]] = []

            def record(view: TrainingView, step: int, points: list[tuple[int, float]] = points) -> None:
                if step % every:
                    return
                model = _model(view)
                buffers = {
                    k: v.clone()
                    for k, v in model.state_dict().items()
                    if "running" in k or "num_batches" in k
                }
                with torch.no_grad(), nm.using_statistics(nm.shared_batch_statistics(model, _x(view))):
                    pred = model(xs)[:, 0]
                model.load_state_dict({**model.state_dict(), **buffers})
                points.append((step, float(torch.linalg.norm(pred - exact) / torch.linalg.norm(exact))))

            result = _solve(norm, seed, lbfgs=lbfgs, callbacks=[record])
            loss = result.history.loss
            out[arm][str(seed)] = {
                "step": [s for s, _ in points],
                "rel_l2": [e for _, e in points],
                "loss": [float(loss[s - 1]) for s, _ in points],
                "final_rel_l2": result.validate().rel_l2["u"],
            }
            print(
                f"  curve {arm} seed {seed}: " + " ".join(f"{s}:{e:.1e}" for s, e in points[::4]), flush=True
            )
    return out


def _arm(name: str, spec: po.nn.ModelSpec, seeds: int, **kw: Any) -> dict[str, Any]:
    """Seeds ``0..seeds-1`` of library problem ``name`` with one network: errors and wall times."""
    errors, times = [], []
    for seed in range(seeds):
        t0 = time.perf_counter()
        result = po.solve(
            problems.get(name),
            model=spec,
            seed=seed,
            log_every=10_000,
            runtime=po.Runtime(progress=False),
            **kw,
        )
        times.append(time.perf_counter() - t0)
        errors.append(result.validate().rel_l2["u"])
    return {"rel_l2": errors, "median_rel_l2": statistics.median(errors), "wall_s": times}


def issue(seeds: int, adam: int, lbfgs: int) -> dict[str, Any]:
    """Issue 15's configuration: default network and collocation, shortened default phases."""
    out: dict[str, Any] = {"phases": [f"Adam(steps={adam}, lr=1e-3)", f"LBFGS(steps={lbfgs})"]}
    for arm, spec in (("none", po.nn.MLP()), ("batch", po.nn.MLP(norm="batch"))):
        phases = [po.optim.Adam(steps=adam, lr=1e-3), po.optim.LBFGS(steps=lbfgs)]
        out[arm] = _arm("poisson1d", spec, seeds, phases=phases)
        print(f"  issue {arm}: " + " ".join(f"{e:.2e}" for e in out[arm]["rel_l2"]), flush=True)
    out["ratio_of_medians"] = out["batch"]["median_rel_l2"] / out["none"]["median_rel_l2"]
    return out


def lm(seeds: int, steps: dict[str, int] | None = None) -> dict[str, Any]:
    """The comparison's networks, points and Adam phase, then Levenberg-Marquardt instead of L-BFGS."""
    steps = {**LM_STEPS, **(steps or {})}
    out: dict[str, Any] = {}
    for name, collocation in (
        ("poisson1d", po.Collocation(128, boundary=2)),
        ("poisson2d", po.Collocation(256, boundary=16)),
    ):
        phases = [po.optim.Adam(steps=ADAM, lr=1e-2), po.optim.LevenbergMarquardt(steps=steps[name])]
        runs: dict[str, Any] = {"phases": [repr(p) for p in phases]}
        for arm, spec in (
            ("none", po.nn.MLP(width=20, depth=3)),
            ("batch", po.nn.MLP(width=20, depth=3, norm="batch")),
        ):
            runs[arm] = _arm(name, spec, seeds, phases=phases, collocation=collocation)
            print(f"  lm {name} {arm}: " + " ".join(f"{e:.2e}" for e in runs[arm]["rel_l2"]), flush=True)
        runs["ratio_of_medians"] = runs["batch"]["median_rel_l2"] / runs["none"]["median_rel_l2"]
        print(f"  lm {name}: median ratio batch / none {runs['ratio_of_medians']:.2f}", flush=True)
        out[name] = runs
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    ap.add_argument("--issue-steps", default="1000,1000", help="Adam,L-BFGS steps of the issue configuration")
    ap.add_argument(
        "--lm-steps",
        default=",".join(str(LM_STEPS[k]) for k in ("poisson1d", "poisson2d")),
        help="Levenberg-Marquardt steps in 1-D,2-D of the lm part",
    )
    ap.add_argument("--out", default=str(RESULTS / "normalization_batch.json"))
    args = ap.parse_args(argv)
    parts = args.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}; expected a subset of {PARTS}")
    torch.set_num_threads(1)
    results: dict[str, Any] = {}
    if "comparison" in parts:
        results["comparison"] = batch_norm(args.seeds)
    if "curves" in parts:
        results["curves"] = curves(args.seeds)
    if "variants" in parts:
        results["variants"] = variants(args.seeds)
    if "issue" in parts:
        adam, lbfgs = (int(s) for s in args.issue_steps.split(","))
        results["issue"] = issue(args.seeds, adam, lbfgs)
    if "lm" in parts:
        one, two = (int(s) for s in args.lm_steps.split(","))
        results["lm"] = lm(args.seeds, {"poisson1d": one, "poisson2d": two})
    report = benchmark_report(
        "normalization_batch",
        results,
        config={"dtype": "float64", "seeds": args.seeds, "description": __doc__},
        command="python -m benchmarks.batch_norm " + " ".join(argv if argv is not None else []),
    )
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
