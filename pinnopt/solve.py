"""The entry point: ``pinnopt.solve(problem, ...)``."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .compile.assemble import (
    resolve_dtype,
)
from .compile.hard import HardConstraints
from .compile.reparam import bake
from .compile.robust import summarize
from .compile.stage import Compiled, compile_problem
from .declare.problem import Problem
from .domain.sampling import Collocation
from .errors import ConfigError
from .losses import PointSet
from .losses.hooks import TrainingHook
from .nn import MLP, AutoEngine, ModelSpec
from .result import Result
from .robust import Parametric, Robust
from .solve_options import check_solve_options, option_effects, placement
from .strategies import collect_strategies, strategies_config
from .strategies.base import Strategy
from .strategies.sampling import SamplingHook
from .train import (
    Batching,
    Callback,
    Checkpoint,
    Criterion,
    FullBatch,
    GradientPhase,
    Phase,
    Trainer,
)
from .train import distributed as ddp
from .train.batching import lr_record
from .train.callbacks import StepCallback
from .train.compiled import compile_options
from .train.identity import solve_identity
from .train.runtime import Runtime
from .train.trace import ParameterTrace

log = logging.getLogger("pinnopt")


def solve(
    problem: Problem,
    *,
    model: ModelSpec | Parametric | nn.Module | None = None,
    phases: Sequence[Phase] | None = None,
    collocation: Collocation | Mapping[str, PointSet] | None = None,
    batch: Batching | None = None,
    stop: Criterion | None = None,
    strategies: Sequence[Strategy | SamplingHook] = (),
    hard_constraints: bool | str | HardConstraints = False,
    robust: Robust | Sequence[Robust] | bool | None = None,
    callbacks: Sequence[StepCallback | Callback | TrainingHook] = (),
    checkpoint: Checkpoint | str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    seed: int = 0,
    dtype: str | torch.dtype = torch.float64,
    log_every: int = 100,
    runtime: Runtime | None = None,
) -> Result:
    """Train a physics-informed model for ``problem`` and return the :class:`Result`.

    Every option has a default; a first solve is ``po.solve(problem)``.

    Args:
        problem: the declared problem.
        model: a network spec (default ``po.nn.MLP()``: 4 x 32, tanh, Glorot normal, input
            scaling to [-1, 1]; also ``po.nn.ResidualMLP``, ``po.nn.ModifiedMLP``, with options
            for initialization, normalization, embeddings...) or any ``torch.nn.Module``
            mapping ``(N, dim)`` to ``(N, n_unknowns)``; ``po.robust.Parametric(po.nn.MLP())``
            for a network that also takes the uncertain coefficients as inputs. A problem without
            unknown functions (``Problem(minimize=...)``, docs/optimization.md) takes none.
        phases: optimizer phases (default: ``po.optim.Adam(2000, lr=1e-3)``, then
            ``po.optim.LBFGS(5000)``).
        collocation: numbers of collocation points (``po.Collocation``, default 2000
            interior, 100 per condition), or the point sets themselves ``{region name:
            po.sample.PointSet}``.
        batch: default batching of gradient phases (``po.optim.FullBatch()``;
            ``po.optim.MiniBatch(32)``); a ``ConfigError`` when no phase uses it (L-BFGS and
            the second-order phases always use the full batch).
        stop: a stopping criterion for the whole run, e.g.
            ``po.stop.CostThreshold(1e-6) | po.stop.TimeLimit(600)``.
        strategies: training strategies (docs/strategies.md), at most one of each kind: loss
            balancing (``po.balance.LRAnnealing()``, ``GradNorm``, ``NTKWeights``,
            ``ReLoBRaLo``, ``FixedWeights``, per-point ``SelfAdaptive``), causal weights
            (``po.balance.Causal(slabs=32)``), a curriculum on a constant
            (``po.optim.Curriculum(beta, 1, 30)``); and adaptive samplers
            (``po.sample.RAR()``, ``RAD``, ``Resample``), bound to the problem's point sources.
        hard_constraints: ``True``: make every Dirichlet and initial value condition exact
            through the output transform ``u = g + d N`` (on box sides, lists of sides, the
            ``"boundary"`` of a box, disks); their loss terms leave the objective. Raises a
            ``ConfigError`` naming each condition that cannot be made exact (Neumann, Robin,
            periodic, polygon/CSG pieces, at given points). ``"where_possible"``: enforce
            what can be, keep the rest as loss terms, with a ``PinnoptWarning`` listing them.
            ``po.HardConstraints(only=[...])``: exactly the named ones. ``result.config
            ["hard_constraints"]`` lists what was enforced, ``["hard_constraints_detail"]``
            what was left soft and why (docs/hard_constraints.md).
        robust: worst-case groups over the problem's uncertain coefficients: None/True (default:
            one worst-case group of every term depending on them), False (nominal solve), or
            ``po.robust.Robust(...)`` groups. The result's ``robust`` reports the worst case
            found, the nominal vs worst-case objective and a dense certificate (docs/robust.md).
        callbacks: ``cb(view, step)`` functions (``view``: a read-only
            ``po.callbacks.TrainingView``; they may return a ``po.callbacks.TrainingUpdate``),
            ``po.callbacks.Callback`` objects (step, epoch, phase and run ends) and training
            hooks (``po.callbacks.TrainingHook``).
        checkpoint: ``po.callbacks.Checkpoint(dir, every=500)`` or a folder (every 500 steps);
            also written on Ctrl-C.
        resume: a checkpoint file, or a folder (the newest checkpoint of its most recent run
            with this run's fingerprint is used). The run must be set up as the one that wrote
            it: a different problem, model, collocation, strategies, seed, dtype or phase
            settings raises a CheckpointError listing the fields; step budgets, stopping
            criteria, ``log_every``, device and checkpoint settings may change (recorded in
            ``result.config["resumed"]``). See docs/training.md.
        seed: seeds the network initialization, the point sampling and the batching.
        dtype: ``float64`` (default: L-BFGS and high-order derivatives need it) or ``float32``.
        log_every: steps between check points (history flush, divergence guard, stopping
            criteria, log line, progress); no host synchronization in between.
        runtime: ``po.Runtime(device=..., engine=..., compile=..., distributed=..., guard=...,
            progress=...)``: where and how the run executes (nothing there changes what is
            minimized); ``po.Runtime(progress=False)`` silences the progress display (a bar on
            a terminal, a line per check point on stderr elsewhere).

    The problem's constraints add their own hooks first (continuation of barrier
    coefficients, multiplier updates, projections, the barrier monitor). Time-marching is a
    workflow on top of this function: :func:`pinnopt.march`.
    """
    if not isinstance(problem, Problem):
        raise ConfigError(f"solve() needs a po.Problem, got {type(problem).__name__}")
    runtime = runtime if runtime is not None else Runtime()
    if not isinstance(runtime, Runtime):
        raise ConfigError(f"runtime={runtime!r}: expected po.Runtime(device=..., engine=..., ...)")
    points = collocation if isinstance(collocation, Mapping) else None
    collocation = None if points is not None else collocation
    kinds, samplers = collect_strategies(strategies)
    given = _as_list("callbacks", callbacks)
    hooks = [c for c in given if isinstance(c, TrainingHook)]
    callbacks = [c for c in given if not isinstance(c, TrainingHook)]
    phases, checkpoint = check_solve_options(
        seed=seed, phases=phases, collocation=collocation, stop=stop, checkpoint=checkpoint, resume=resume
    )
    dt = resolve_dtype(dtype)
    effects = option_effects(runtime, dt, phases, batch)
    dev, ctx = placement(runtime, dt)
    compiled = compile_problem(
        problem,
        model=model,
        collocation=collocation,
        points=points,
        hard_constraints=hard_constraints,
        robust=robust,
        strategies=kinds,
        hooks=[*samplers, *hooks],
        engine=runtime.engine,
        dtype=dt,
        device=dev,
        seed=seed,
    )
    trace = ParameterTrace() if problem.parameters else None
    for crit in [stop, *(p.stop for p in phases)]:
        if crit is not None:
            crit.bind(problem)
    identity = _identity(
        problem, model, collocation, points, phases, seed, dt, kinds, samplers, hard_constraints, batch,
        robust, runtime, log_every, dev, stop, checkpoint,
    )  # fmt: skip
    trainer = Trainer(
        compiled.model,
        compiled.objective,
        compiled.points,
        phases,
        log_every=log_every,
        callbacks=callbacks,
        hooks=[*compiled.hooks, *([trace] if trace is not None else [])],
        batch=batch,
        stop=stop,
        guard=runtime.guard,
        checkpoint=checkpoint,
        progress=runtime.progress,
        seed=seed,
        distributed=ctx,
        compile=runtime.compile if effects.get("compile_phases", {}).get("compiled") else False,
        identity=identity,
    )
    trainer.coordinates = tuple(str(c) for c in problem.coordinates)
    resumed_file = trainer.load_checkpoint(resume) if resume is not None else None
    if trainer.is_main:
        n_terms, n_points = len(compiled.objective.terms), sum(len(p) for p in trainer.points.values())
        ranks = f" per rank, {ctx.world_size} ranks" if ctx else ""
        message = "solving %s on %s (%s): %d terms, %d points%s"
        log.info(message, problem.name, dev, dt, n_terms, n_points, ranks)
    with runtime.precision_scope():
        outcome = trainer.run()
    bake(compiled.model)  # exact parameter bounds: keep the bounded values as plain parameters
    config = _run_config(compiled, trainer, phases, stop, checkpoint, resume, ctx, runtime)
    notes = effects.pop("notes", [])
    config.update(effects)
    if notes:
        config["notes"] = [*config.get("notes", []), *notes]
    if samplers:
        config["sampling"] = [repr(h) for h in samplers]
    if resumed_file is not None:
        config["resumed"] = {"file": str(resumed_file), "changed": trainer.resume_changes}
    history = trace.history() if trace is not None else None
    report = summarize(problem, compiled.model, compiled.objective, trainer.points, compiled.groups)
    return Result(
        problem, compiled.model, outcome, config, robust=report, parameter_history=history, compiled=compiled
    )


def _identity(
    problem: Problem,
    model: Any,
    collocation: Collocation | None,
    points: Mapping[str, PointSet] | None,
    phases: Sequence[Phase],
    seed: int,
    dt: torch.dtype,
    kinds: Sequence[Strategy],
    samplers: Sequence[SamplingHook],
    hard_constraints: Any,
    batch: Batching | None,
    robust: Any,
    runtime: Runtime,
    log_every: int,
    dev: torch.device,
    stop: Criterion | None,
    checkpoint: Checkpoint | None,
) -> Any:
    """The run's fingerprint (what defines it) and the settings that may change on resume."""
    return solve_identity(
        problem,
        model=model if model is not None else MLP(),  # None means the default MLP()
        collocation=collocation,
        phases=phases,
        seed=seed,
        dtype=dt,
        strategies=kinds,
        points=points,
        extra={
            "hard_constraints": hard_constraints,
            "batch": batch if batch is not None else FullBatch(),
            "robust": robust,
            "engine": _engine_identity(runtime.engine),
            # only when there are samplers: checkpoints of runs without them keep their fingerprint
            **({"samplers": [repr(h) for h in samplers]} if samplers else {}),
        },
        settings={
            "log_every": log_every,
            "device": str(dev),
            "matmul_precision": runtime.matmul_precision,
            "stop": stop,
            "checkpoint": None
            if checkpoint is None
            else {"dir": str(checkpoint.dir), "every": checkpoint.every, "keep": checkpoint.keep},
        },
    )


def _engine_identity(engine: Any) -> Any:
    """The engine as the fingerprint writes it: None for the default engine, given
    (``po.nn.AutoEngine()`` with default settings) or not, which is how checkpoints of
    default-engine runs wrote it before engines had a repr; any other engine by its repr
    (its settings), so that resuming with other settings is refused by name."""
    return None if engine is None or repr(engine) == repr(AutoEngine()) else engine


def _run_config(
    compiled: Compiled,
    trainer: Trainer,
    phases: Sequence[Phase],
    stop: Criterion | None,
    checkpoint: Checkpoint | None,
    resume: str | os.PathLike[str] | None,
    ctx: ddp.DistributedContext | None,
    runtime: Runtime,
) -> dict[str, Any]:
    """The JSON-ready configuration of a finished run (``Result.config``)."""
    problem = compiled.problem
    config: dict[str, Any] = {"problem": problem.name, **compiled.config()}
    config["collocation"] = {name: len(p) for name, p in trainer.points.items()}
    config.update(
        {
            "phases": [repr(p) for p in phases],
            "device": str(compiled.device),
            "batch": trainer.batch.describe(),
            "learning_rates": _lr_config(phases, trainer.batch, trainer.batch_sizes),
            "stop": repr(stop) if stop is not None else None,
            "guard": {"max_retries": trainer.guard.max_retries, "factor": trainer.guard.factor},
            "checkpoint": None
            if checkpoint is None
            else {"dir": str(checkpoint.dir), "every": checkpoint.every},
            "resumed_from": None if resume is None else str(Path(resume)),
            "run": {"id": trainer.run_id, "fingerprint": trainer.identity.hash if trainer.identity else None},
            "world_size": ctx.world_size if ctx else 1,
            "compile": _compile_config(runtime.compile),
            "matmul_precision": runtime.matmul_precision,
        }
    )
    partial = {u: [str(c) for c in cs] for u, cs in problem.unknown_coordinates.items()}
    if any(len(cs) < problem.domain.dim for cs in partial.values()):
        config["unknown_coordinates"] = partial
    if compiled.strategies or (compiled.model_config or {}).get("embedding") is not None:
        config["strategies"] = strategies_config(compiled.strategies, compiled.model_config)
    return config


def _compile_config(compile: Any) -> dict[str, Any] | None:
    """The ``torch.compile`` options for the result's JSON config (None: eager)."""
    options = compile_options(compile)
    if options is None:
        return None
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v) for k, v in options.items()
    }


def _lr_config(phases: Sequence[Phase], default: Batching, sizes: Mapping[str, int]) -> list[dict[str, Any]]:
    """Base and effective learning rates per phase (the batch-size scaling rule is recorded,
    with the points drawn per update from the largest of the point sets of ``sizes``)."""
    out = []
    for p in phases:
        entry: dict[str, Any] = {"phase": p.name, "lr": getattr(p, "lr", None)}
        if isinstance(p, GradientPhase):
            entry.update(lr_record(p.batch or default, sizes))
            entry["effective_lr"] = p.lr * entry["batch_lr_factor"]
            entry["schedule"] = repr(p.schedule) if p.schedule is not None else None
            entry["clip_norm"] = p.clip_norm
        else:
            entry["batch"] = {"kind": "full", "subset": None}
        out.append(entry)
    return out


def _as_list(name: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"{name}={value!r}: expected a list (of functions, po.callbacks.Callback or hooks)")
    return list(value)
