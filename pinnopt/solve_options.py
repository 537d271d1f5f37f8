"""Checks of :func:`pinnopt.solve`'s options, before anything is built, and where the run goes."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .compile.assemble import resolve_device
from .domain.sampling import Collocation
from .errors import ConfigError, PinnoptWarning
from .train import Batching, Checkpoint, Criterion, Phase
from .train import distributed as ddp
from .train.compiled import compile_use
from .train.options import batch_users
from .train.phases import LBFGS, Adam
from .train.runtime import Runtime

SEED_LIMIT = 2**62
"""Seeds lie in ``(-2**62, 2**62)``: torch takes 64-bit seeds, and solve derives a few from each."""

DEFAULT_PHASES: tuple[Phase, ...] = (Adam(steps=2000, lr=1e-3), LBFGS(steps=5000))
"""Adam for 2000 steps, then L-BFGS (strong Wolfe) for up to 5000 iterations."""


def check_solve_options(
    *, seed: Any, phases: Any, collocation: Any, stop: Any, checkpoint: Any, resume: Any
) -> tuple[list[Phase], Checkpoint | None]:
    """Refuse solve options of the wrong type (each named in its message); return the phases
    (the default ones when None) and the checkpoint (a folder becomes ``Checkpoint(folder)``).

    Raises:
        ConfigError: naming the option, the value and what is expected.
    """
    integer = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    if not integer or not -SEED_LIMIT < seed < SEED_LIMIT:
        raise ConfigError(f"seed={seed!r}: expected an int with |seed| < 2**62")
    if isinstance(phases, Phase):
        raise ConfigError(f"phases={phases!r}: expected a list of phases, e.g. phases=[{phases!r}]")
    if (phases is not None and not isinstance(phases, Sequence)) or isinstance(phases, str):
        raise ConfigError(f"phases={phases!r}: expected a non-empty list of po.optim.Adam/LBFGS/...")
    phases = list(DEFAULT_PHASES if phases is None else phases)
    if not phases or not all(isinstance(p, Phase) for p in phases):
        raise ConfigError(f"phases must be a non-empty list of po.optim.Adam/LBFGS/..., got {phases!r}")
    if collocation is not None and not isinstance(collocation, Collocation):
        raise ConfigError(
            f"collocation={collocation!r}: expected po.Collocation(interior=..., boundary=...) "
            "or a dict {region name: po.sample.PointSet}"
        )
    if stop is not None and not isinstance(stop, Criterion):
        raise ConfigError(
            f"stop={stop!r}: expected a criterion such as "
            "po.stop.CostThreshold(1e-6) | po.stop.MaxSteps(1000)"
        )
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise ConfigError(
                f"checkpoint={checkpoint!r}: expected po.callbacks.Checkpoint(dir, every=...) or a folder"
            )
        checkpoint = Checkpoint(checkpoint)
    if resume is not None and not isinstance(resume, (str, os.PathLike)):
        raise ConfigError(f"resume={resume!r}: expected a checkpoint file or folder (a path)")
    return phases, checkpoint


def placement(runtime: Runtime, dtype: torch.dtype) -> tuple[torch.device, ddp.DistributedContext | None]:
    """The run's device, and its data-parallel context under ``torchrun`` (joined here)."""
    ctx = _distributed_context(runtime.distributed)
    dev = resolve_device(runtime.device)
    if dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ConfigError(f"device={runtime.device!r} was requested but MPS is not available here")
        if dtype != torch.float32:
            raise ConfigError("device='mps' supports float32 only; pass dtype='float32'")
    if runtime.matmul_precision is not None and dtype != torch.float32:
        warnings.warn(
            f"Runtime(matmul_precision={runtime.matmul_precision!r}) has no effect on a {dtype} run "
            "(it sets the precision of float32 matrix products); recorded in result.config['notes'] "
            "and the report",
            PinnoptWarning,
            stacklevel=3,
        )
    if ctx is not None:
        dev = ddp.device_for(ctx, None if runtime.device is None else dev)
        ddp.init_process_group(ctx, dev)
    return dev, ctx


def option_effects(
    runtime: Runtime, dtype: torch.dtype, phases: Sequence[Phase], batch: Batching | None
) -> dict[str, Any]:
    """Where options apply when not everywhere, for the result's config, checked before the run.

    Returns config entries: ``compile_phases`` (``{"compiled": [...], "not_compiled": [...]}``
    with ``Runtime(compile=...)``), ``batch_used_by`` (the phases that use ``batch=``),
    ``matmul_precision_effective`` (False on a run that is not float32) and ``notes``, one line
    per option that had no effect or applies to some phases only (the run folder's report lists
    them). Warns (:class:`~pinnopt.errors.PinnoptWarning`) when no phase uses ``compile``.

    Raises:
        ConfigError: when no phase uses a ``batch=`` other than the plain full batch.
    """
    out: dict[str, Any] = {}
    notes: list[str] = []
    users = batch_users(batch, phases)
    if users is not None:
        used, unused = users
        out["batch_used_by"] = used
        if unused:
            notes.append(f"batch={batch!r} applies to {', '.join(used)}, not to {', '.join(unused)}")
    use = compile_use(runtime.compile, phases, f"Runtime(compile={runtime.compile!r})")
    if use is not None:
        out["compile_phases"] = {"compiled": use["compiled"], "not_compiled": use["not_compiled"]}
        if use["note"]:
            notes.append(use["note"])
        if not use["compiled"]:
            warnings.warn(f"{use['note']}; recorded in result.config['notes']", PinnoptWarning, stacklevel=3)
    if runtime.matmul_precision is not None and dtype != torch.float32:
        out["matmul_precision_effective"] = False
        notes.append(
            f"Runtime(matmul_precision={runtime.matmul_precision!r}) had no effect: it sets the precision "
            f"of float32 matrix products, and this run is {str(dtype).replace('torch.', '')}"
        )
    if notes:
        out["notes"] = notes
    return out


def _distributed_context(distributed: bool | None) -> ddp.DistributedContext | None:
    if distributed is False:
        return None
    ctx = ddp.DistributedContext.from_environment()
    if distributed is True and ctx is None:
        raise ConfigError("distributed=True needs a launch by torchrun (WORLD_SIZE > 1 in the environment)")
    return ctx
