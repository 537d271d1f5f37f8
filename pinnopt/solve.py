"""The entry point: ``pinnopt.solve(problem, ...)``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .adaptive import SamplingHook
from .assemble import (
    build_model,
    build_objective,
    draw_point_set,
    point_sources,
    resolve_device,
    resolve_dtype,
)
from .domain.sampling import Collocation
from .errors import ConfigError
from .inverse import ParameterTrace
from .nn import MLP
from .nn.constraints import HardConstraints, describe, plan_hard_constraints
from .problem import Problem
from .result import Result
from .symbolic import DerivativeEngine
from .train import LBFGS, Adam, Phase, Trainer, TrainingHook
from .train.trainer import StepCallback

log = logging.getLogger("pinnopt")

DEFAULT_PHASES: tuple[Phase, ...] = (Adam(steps=2000, lr=1e-3), LBFGS(steps=5000))
"""Adam for 2000 steps, then L-BFGS (strong Wolfe) for up to 5000 iterations."""


def solve(
    problem: Problem,
    *,
    model: MLP | nn.Module | None = None,
    phases: Sequence[Phase] | None = None,
    collocation: Collocation | None = None,
    dtype: str | torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    seed: int = 0,
    engine: DerivativeEngine | None = None,
    log_every: int = 100,
    callbacks: Sequence[StepCallback] = (),
    hooks: Sequence[TrainingHook] = (),
    hard_constraints: bool | HardConstraints = False,
) -> Result:
    """Train a physics-informed model for ``problem`` and return the :class:`Result`.

    Args:
        problem: the declared problem.
        model: a network spec (default ``po.MLP()``: 4 x 32, tanh, Glorot normal, input
            scaling to [-1, 1]) or any ``torch.nn.Module`` mapping ``(N, dim)`` to
            ``(N, n_unknowns)``.
        phases: optimizer phases (default: Adam 2000 steps at lr 1e-3, then L-BFGS).
        collocation: numbers of collocation points (default 2000 interior, 100 per condition).
        dtype: ``float64`` (default: L-BFGS and high-order derivatives need it) or ``float32``.
        device: ``"cpu"``, ``"cuda"``...; default CUDA when available.
        seed: seeds the network initialization and the point sampling.
        engine: the derivative engine (default: reverse-mode autograd).
        log_every: steps between host synchronizations and log lines.
        callbacks: ``cb(trainer, step)`` after every step.
        hooks: stateful training strategies updated after every step (adaptive sampling:
            ``po.RAR``, ``po.RAD``, ``po.Resample`` are bound to the problem's point sources here).
        hard_constraints: ``True`` or ``po.HardConstraints(...)``: enforce Dirichlet and
            initial values on interval sides exactly through the output transform
            ``u = g + d N``; their loss terms leave the objective (``result.config
            ["hard_constraints"]`` lists what was enforced and why the rest was not).
    """
    if not isinstance(problem, Problem):
        raise ConfigError(f"solve() needs a po.Problem, got {type(problem).__name__}")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype)
    phases = list(DEFAULT_PHASES if phases is None else phases)
    if not phases or not all(isinstance(p, Phase) for p in phases):
        raise ConfigError(f"phases must be a non-empty list of po.Adam/po.LBFGS/..., got {phases!r}")
    collocation = collocation or Collocation()
    if not isinstance(hard_constraints, (bool, HardConstraints)):
        raise ConfigError(f"hard_constraints={hard_constraints!r}: expected a bool or po.HardConstraints")
    plan = None
    if hard_constraints is not False:
        spec = hard_constraints if isinstance(hard_constraints, HardConstraints) else None
        plan = plan_hard_constraints(problem, spec)
    enforced = plan.enforced if plan is not None else []
    torch.manual_seed(seed)
    pinn, net_config = build_model(problem, model, plan)
    pinn = pinn.to(device=dev, dtype=dt)
    generator = torch.Generator(device=dev)
    generator.manual_seed(seed)
    sources = point_sources(problem, collocation, skip=enforced)
    points = {name: draw_point_set(src, generator, dt, dev) for name, src in sources.items()}
    objective = build_objective(problem, engine, skip=enforced).to(dt, dev)
    hooks = list(hooks)
    for i, hook in enumerate(hooks):
        if isinstance(hook, SamplingHook):
            hook.bind(sources, seed=seed + 7919 * (i + 1), dtype=dt, device=dev)
    trace = ParameterTrace() if problem.parameters else None
    if trace is not None:
        hooks.append(trace)
    trainer = Trainer(pinn, objective, points, phases, log_every=log_every, callbacks=callbacks, hooks=hooks)
    log.info(
        "solving %s on %s (%s): %d terms, %d points",
        problem.name,
        dev,
        dt,
        len(objective.terms),
        sum(len(p) for p in points.values()),
    )
    outcome = trainer.run()
    config: dict[str, Any] = {
        "problem": problem.name,
        "model": net_config,
        "phases": [repr(p) for p in phases],
        "collocation": {name: len(p) for name, p in trainer.points.items()},
        "sampler": collocation.sampler.name,
        "dtype": str(dt).replace("torch.", ""),
        "device": str(dev),
        "seed": seed,
        "engine": objective.engine.name,
        "bounds": [list(b) for b in problem.domain.bounds],
    }
    if plan is not None:
        config["hard_constraints"] = enforced
        config["hard_constraints_detail"] = describe(plan)
    partial = {u: [str(c) for c in cs] for u, cs in problem.unknown_coordinates.items()}
    if any(len(cs) < problem.domain.dim for cs in partial.values()):
        config["unknown_coordinates"] = partial
    history = trace.history() if trace is not None else None
    return Result(problem, pinn, outcome, config, parameter_history=history)
