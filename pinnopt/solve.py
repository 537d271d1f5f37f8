"""The entry point: ``pinnopt.solve(problem, ...)``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .assemble import build_model, build_objective, resolve_device, resolve_dtype, sample_points
from .domain.sampling import Collocation
from .errors import ConfigError
from .nn import MLP
from .problem import Problem
from .result import Result
from .symbolic import AutoEngine, DerivativeEngine
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
        engine: the derivative engine. Default: :class:`~pinnopt.symbolic.AutoEngine`, which
            propagates derivatives forward (Taylor mode) through recognized MLPs when a point
            set needs derivatives of order >= 2, and uses reverse-mode autograd otherwise;
            ``AutogradEngine()`` forces reverse mode everywhere.
        log_every: steps between host synchronizations and log lines.
        callbacks: ``cb(trainer, step)`` after every step.
        hooks: stateful training strategies updated after every step (adaptive sampling...).
    """
    if not isinstance(problem, Problem):
        raise ConfigError(f"solve() needs a po.Problem, got {type(problem).__name__}")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype)
    phases = list(DEFAULT_PHASES if phases is None else phases)
    if not phases or not all(isinstance(p, Phase) for p in phases):
        raise ConfigError(f"phases must be a non-empty list of po.Adam/po.LBFGS/..., got {phases!r}")
    collocation = collocation or Collocation()
    torch.manual_seed(seed)
    pinn, net_config = build_model(problem, model)
    pinn = pinn.to(device=dev, dtype=dt)
    generator = torch.Generator(device=dev)
    generator.manual_seed(seed)
    points = sample_points(problem, collocation, generator, dt, dev)
    engine = AutoEngine() if engine is None else engine
    if not isinstance(engine, DerivativeEngine):
        raise ConfigError(f"engine must be a DerivativeEngine (e.g. po.AutoEngine()), got {engine!r}")
    objective = build_objective(problem, engine).to(dt, dev)
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
        "collocation": {name: len(p) for name, p in points.items()},
        "dtype": str(dt).replace("torch.", ""),
        "device": str(dev),
        "seed": seed,
        "engine": objective.engine.name,
        "engine_by_point_set": {
            name: objective.engine.resolve(pinn, plan).name for name, plan in objective.plans.items()
        },
        "bounds": [list(b) for b in problem.domain.bounds],
    }
    return Result(problem, pinn, outcome, config)
