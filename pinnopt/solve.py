"""The entry point: ``pinnopt.solve(problem, ...)``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .compile.assemble import (
    resolve_device,
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
from .nn import MLP, ModelSpec
from .result import Result
from .robust import Parametric, Robust
from .strategies import collect_strategies, strategies_config
from .symbolic import DerivativeEngine
from .train import (
    LBFGS,
    Adam,
    Batching,
    Callback,
    Checkpoint,
    Criterion,
    DivergenceGuard,
    FullBatch,
    GradientPhase,
    Phase,
    Trainer,
)
from .train import distributed as ddp
from .train.callbacks import StepCallback
from .train.compiled import compile_options
from .train.identity import solve_identity
from .train.trace import ParameterTrace

log = logging.getLogger("pinnopt")

DEFAULT_PHASES: tuple[Phase, ...] = (Adam(steps=2000, lr=1e-3), LBFGS(steps=5000))
"""Adam for 2000 steps, then L-BFGS (strong Wolfe) for up to 5000 iterations."""


def solve(
    problem: Problem,
    *,
    model: ModelSpec | Parametric | nn.Module | None = None,
    phases: Sequence[Phase] | None = None,
    collocation: Collocation | None = None,
    dtype: str | torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    seed: int = 0,
    engine: DerivativeEngine | None = None,
    log_every: int = 100,
    callbacks: Sequence[StepCallback | Callback] = (),
    hooks: Sequence[TrainingHook] = (),
    batch: Batching | None = None,
    stop: Criterion | None = None,
    guard: DivergenceGuard | None = None,
    checkpoint: Checkpoint | str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    distributed: bool | None = None,
    points: Mapping[str, PointSet] | None = None,
    robust: Robust | Sequence[Robust] | bool | None = None,
    hard_constraints: bool | str | HardConstraints = False,
    balance: Any = None,
    causal: Any = None,
    curriculum: Any = None,
    compile: bool | Mapping[str, Any] = False,
) -> Result:
    """Train a physics-informed model for ``problem`` and return the :class:`Result`.

    Args:
        problem: the declared problem.
        model: a network spec (default ``po.MLP()``: 4 x 32, tanh, Glorot normal, input
            scaling to [-1, 1]; also ``po.ResidualMLP``, ``po.ModifiedMLP``, with options for
            initialization, normalization, embeddings...) or any ``torch.nn.Module`` mapping
            ``(N, dim)`` to ``(N, n_unknowns)``; ``po.Parametric(po.MLP())`` for a network that
            also takes the uncertain coefficients as inputs.
        phases: optimizer phases (default: Adam 2000 steps at lr 1e-3, then L-BFGS).
        collocation: numbers of collocation points (default 2000 interior, 100 per condition).
        dtype: ``float64`` (default: L-BFGS and high-order derivatives need it) or ``float32``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` (float32 only); default CUDA when
            available, else the CPU.
        seed: seeds the network initialization, the point sampling and the batching.
        engine: the derivative engine. Default: :class:`~pinnopt.symbolic.AutoEngine`, which
            propagates derivatives forward (Taylor mode) through recognized MLPs when a point
            set needs derivatives of order >= 2, and uses reverse-mode autograd otherwise;
            ``AutogradEngine()`` forces reverse mode everywhere.
        log_every: steps between check points (history flush, divergence guard, stopping
            criteria, log line, progress bar); no host synchronization in between.
        callbacks: ``cb(view, step)`` after every step (a read-only ``TrainingView``; it may
            return a ``TrainingUpdate``), or :class:`po.Callback` objects (step, epoch, phase and
            run ends).
        hooks: stateful training strategies updated after every step (adaptive sampling:
            ``po.RAR``, ``po.RAD``, ``po.Resample`` are bound to the problem's point sources here).
        batch: default batching of gradient phases (``po.FullBatch()``; ``po.MiniBatch(32)``).
        stop: a stopping criterion for the whole run, e.g.
            ``po.CostThreshold(1e-6) | po.TimeLimit(600)``.
        guard: the divergence guard (default ``po.DivergenceGuard()``: 3 retries, lr x0.5).
        checkpoint: ``po.Checkpoint(dir, every=500)`` or a folder (every 500 steps); also
            written on Ctrl-C.
        resume: a checkpoint file, or a folder (the newest checkpoint of its most recent run
            with this run's fingerprint is used). The run must be set up as the one that wrote
            it: a different problem, model, collocation, strategies, seed, dtype or phase
            settings raises a CheckpointError listing the fields; step budgets, stopping
            criteria, ``log_every``, device and checkpoint settings may change (recorded in
            ``result.config["resumed"]``). See docs/training.md.
        progress: show a progress bar (default: only when writing to a terminal).
        distributed: data-parallel training under ``torchrun`` (default: when ``WORLD_SIZE`` > 1).
        points: collocation point sets to use instead of sampling them (by region name).
        robust: worst-case groups over the problem's uncertain coefficients: None/True (default:
            one worst-case group of every term depending on them), False (nominal solve), or
            ``po.Robust(...)`` groups. The result's ``robust`` reports the worst case found, the
            nominal vs worst-case objective and a dense certificate (docs/robust.md).
        hard_constraints: ``True``: make every Dirichlet and initial value condition exact
            through the output transform ``u = g + d N`` (on box sides, lists of sides, the
            ``"boundary"`` of a box, disks); their loss terms leave the objective. Raises a
            ``ConfigError`` naming each condition that cannot be made exact (Neumann, Robin,
            periodic, polygon/CSG pieces, at given points). ``"where_possible"``: enforce
            what can be, keep the rest as loss terms, with a ``PinnoptWarning`` listing them.
            ``po.HardConstraints(only=[...])``: exactly the named ones. ``result.config
            ["hard_constraints"]`` lists what was enforced, ``["hard_constraints_detail"]``
            what was left soft and why (docs/hard_constraints.md).
        balance: loss balancing (docs/strategies.md): ``po.FixedWeights({...})``,
            ``po.LRAnnealing()``, ``po.GradNorm()``, ``po.NTKWeights()``, ``po.ReLoBRaLo()`` or
            per-point ``po.SelfAdaptive()``; the weights are recorded in the history.
        causal: causal training of time-dependent problems, ``po.Causal(slabs=32)``.
        curriculum: raise a constant of the problem during training,
            ``po.Curriculum(beta, 1, 30)``; the last phase trains at its declared value.
        compile: ``torch.compile`` the objective (forward and backward): True, or a dict of
            ``torch.compile`` options. Compiling takes tens of seconds at the first step and
            then makes steps faster (see ``benchmarks/speed_peers.py``): worth it for long runs.

    The problem's constraints add their own hooks first (continuation of barrier
    coefficients, multiplier updates, projections, the barrier monitor).
    """
    if not isinstance(problem, Problem):
        raise ConfigError(f"solve() needs a po.Problem, got {type(problem).__name__}")
    strategies = collect_strategies(balance=balance, causal=causal, curriculum=curriculum)
    dt = resolve_dtype(dtype)
    ctx = _distributed_context(distributed)
    dev = resolve_device(device)
    if dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ConfigError(f"device={device!r} was requested but MPS is not available here")
        if dt != torch.float32:
            raise ConfigError("device='mps' supports float32 only; pass dtype='float32'")
    if ctx is not None:
        dev = ddp.device_for(ctx, None if device is None else dev)
        ddp.init_process_group(ctx, dev)
    phases = list(DEFAULT_PHASES if phases is None else phases)
    if not phases or not all(isinstance(p, Phase) for p in phases):
        raise ConfigError(f"phases must be a non-empty list of po.Adam/po.LBFGS/..., got {phases!r}")
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise ConfigError(
                f"checkpoint={checkpoint!r}: expected po.Checkpoint(dir, every=...) or a folder"
            )
        checkpoint = Checkpoint(checkpoint)
    if stop is not None and not isinstance(stop, Criterion):
        raise ConfigError(
            f"stop={stop!r}: expected a criterion such as po.CostThreshold(1e-6) | po.MaxSteps(1000)"
        )
    compiled = compile_problem(
        problem,
        model=model,
        collocation=collocation,
        points=points,
        hard_constraints=hard_constraints,
        robust=robust,
        strategies=strategies,
        hooks=hooks,
        engine=engine,
        dtype=dt,
        device=dev,
        seed=seed,
    )
    trace = ParameterTrace() if problem.parameters else None
    for crit in [stop, *(p.stop for p in phases)]:
        if crit is not None:
            crit.bind(problem)
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
        guard=guard,
        checkpoint=checkpoint,
        progress=progress,
        seed=seed,
        distributed=ctx,
        compile=compile,
        identity=solve_identity(
            problem,
            model=model if model is not None else MLP(),  # None means the default MLP()
            collocation=collocation,
            phases=phases,
            seed=seed,
            dtype=dt,
            strategies=strategies,
            points=points,
            extra={
                "hard_constraints": hard_constraints,
                "batch": batch if batch is not None else FullBatch(),
                "robust": robust,
                "engine": engine,
            },
            settings={
                "log_every": log_every,
                "device": str(dev),
                "stop": stop,
                "checkpoint": None
                if checkpoint is None
                else {"dir": str(checkpoint.dir), "every": checkpoint.every, "keep": checkpoint.keep},
            },
        ),
    )
    trainer.coordinates = tuple(str(c) for c in problem.coordinates)
    resumed_file = trainer.load_checkpoint(resume) if resume is not None else None
    if trainer.is_main:
        log.info(
            "solving %s on %s (%s): %d terms, %d points%s",
            problem.name,
            dev,
            dt,
            len(compiled.objective.terms),
            sum(len(p) for p in trainer.points.values()),
            f" per rank, {ctx.world_size} ranks" if ctx else "",
        )
    outcome = trainer.run()
    bake(compiled.model)  # exact parameter bounds: keep the bounded values as plain parameters
    config = _run_config(compiled, trainer, phases, stop, checkpoint, resume, ctx, compile)
    if resumed_file is not None:
        config["resumed"] = {"file": str(resumed_file), "changed": trainer.resume_changes}
    history = trace.history() if trace is not None else None
    report = summarize(
        problem,
        compiled.model,
        compiled.objective,
        trainer.points,
        compiled.groups,
        compiled.objective.engine,
    )
    return Result(
        problem, compiled.model, outcome, config, robust=report, parameter_history=history, compiled=compiled
    )


def _run_config(
    compiled: Compiled,
    trainer: Trainer,
    phases: Sequence[Phase],
    stop: Criterion | None,
    checkpoint: Checkpoint | None,
    resume: str | os.PathLike[str] | None,
    ctx: ddp.DistributedContext | None,
    compile: Any,
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
            "learning_rates": _lr_config(phases, trainer.batch),
            "stop": repr(stop) if stop is not None else None,
            "guard": {"max_retries": trainer.guard.max_retries, "factor": trainer.guard.factor},
            "checkpoint": None
            if checkpoint is None
            else {"dir": str(checkpoint.dir), "every": checkpoint.every},
            "resumed_from": None if resume is None else str(Path(resume)),
            "run": {"id": trainer.run_id, "fingerprint": trainer.identity.hash if trainer.identity else None},
            "world_size": ctx.world_size if ctx else 1,
            "compile": _compile_config(compile),
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


def _distributed_context(distributed: bool | None) -> ddp.DistributedContext | None:
    if distributed not in (None, True, False):
        raise ConfigError(f"distributed={distributed!r}: expected None (auto), True or False")
    if distributed is False:
        return None
    ctx = ddp.DistributedContext.from_environment()
    if distributed is True and ctx is None:
        raise ConfigError("distributed=True needs a launch by torchrun (WORLD_SIZE > 1 in the environment)")
    return ctx


def _lr_config(phases: Sequence[Phase], default: Batching) -> list[dict[str, Any]]:
    """Base and effective learning rates per phase (the batch-size scaling rule is recorded)."""
    out = []
    for p in phases:
        entry: dict[str, Any] = {"phase": p.name, "lr": getattr(p, "lr", None)}
        if isinstance(p, GradientPhase):
            spec = p.batch or default
            entry["batch"] = spec.describe()
            entry["batch_lr_factor"] = spec.lr_factor()
            entry["effective_lr"] = p.lr * spec.lr_factor()
            entry["schedule"] = repr(p.schedule) if p.schedule is not None else None
            entry["clip_norm"] = p.clip_norm
        else:
            entry["batch"] = {"kind": "full", "subset": None}
        out.append(entry)
    return out
