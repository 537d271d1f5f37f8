"""Optimizer phases: each runs a number of steps; phases chain with one step counter.

Gradient phases (:class:`SGD`, :class:`Momentum`, :class:`Adam`, :class:`AdamW`) take
keyword options shared by all of them:

* ``batch``: :class:`~pinnopt.train.batching.FullBatch` (batch gradient descent, the
  default) or :class:`~pinnopt.train.batching.MiniBatch` (``size=1`` is SGD);
* ``schedule``: a learning-rate schedule (:mod:`pinnopt.train.schedules`);
* ``clip_norm``: clip the gradient's global 2-norm to this value;
* ``epochs``: when given, replaces ``steps`` by ``epochs`` times the updates per epoch;
* ``stop``: a stopping criterion that ends this phase (the next phase then starts).

:class:`LBFGS` always uses the full batch: its curvature pairs need the same objective at
every iteration.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import numbers
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import torch

from ..errors import ConfigError
from .batching import Batching, FullBatch
from .lbfgs import LBFGSOptimizer
from .runners import GradientRunner, LBFGSRunner, PhaseRunner, RunnerContext
from .schedules import Schedule
from .stopping import Criterion


def check_tolerance(owner: str, name: str, value: Any) -> None:
    """Refuse a tolerance that is not a finite real number ``>= 0`` (bools and strings too)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value >= 0):  # type: ignore[arg-type]
        raise ConfigError(f"{owner}({name}={value!r}): expected a finite number >= 0 (a tolerance)")


def check_flag(owner: str, name: str, value: Any) -> None:
    """Refuse anything but ``True`` / ``False`` (a string such as ``"no"`` would be truthy)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}({name}={value!r}): expected True or False")


class Phase(abc.ABC):
    """One stage of training (``Adam(steps=2000)`` then ``LBFGS(steps=5000)``...)."""

    steps: int
    stop: Criterion | None
    quasi_newton: ClassVar[bool] = False
    """True for phases that keep curvature memory across steps (L-BFGS): training strategies
    hold the objective fixed during them, since changing it would invalidate that memory."""

    @property
    def name(self) -> str:
        """The phase's name in outcomes, reports and plots: its class name (``"Adam"``)."""
        return type(self).__name__

    def __repr__(self) -> str:
        """Every positional field, and the keyword options that are set."""
        parts = []
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        for f in sorted(fields, key=lambda f: f.kw_only):
            if f.name == "_":
                continue
            value = getattr(self, f.name)
            if f.kw_only and value is None:
                continue
            parts.append(f"{f.name}={value!r}")
        return f"{self.name}({', '.join(parts)})"

    @abc.abstractmethod
    def runner(self, ctx: RunnerContext) -> PhaseRunner:
        """The engine that runs this phase (:mod:`pinnopt.train.runners`)."""

    def _check(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ConfigError(f"{self.name}(steps={self.steps!r}): expected an int >= 0")
        lr = getattr(self, "lr", 1.0)
        if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ConfigError(f"{self.name}(lr={lr!r}): expected a positive finite number")
        if self.stop is not None and not isinstance(self.stop, Criterion):
            raise ConfigError(
                f"{self.name}(stop={self.stop!r}): expected a stopping criterion such as po.stop.MaxSteps"
            )


@dataclass(frozen=True, kw_only=True, repr=False)
class GradientPhase(Phase):
    """A phase driven by a ``torch.optim`` optimizer: one gradient evaluation per step."""

    schedule: Schedule | None = None
    batch: Batching | None = None
    clip_norm: float | None = None
    epochs: int | None = None
    stop: Criterion | None = None

    @abc.abstractmethod
    def make(self, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
        """Create the optimizer."""

    def runner(self, ctx: RunnerContext) -> PhaseRunner:
        """A :class:`~pinnopt.train.runners.GradientRunner` for this phase."""
        return GradientRunner(self, ctx)

    def _check(self) -> None:
        super()._check()
        if self.schedule is not None and not isinstance(self.schedule, Schedule):
            raise ConfigError(
                f"{self.name}(schedule={self.schedule!r}): expected e.g. po.optim.CosineDecay()"
            )
        if self.batch is not None and not isinstance(self.batch, Batching):
            raise ConfigError(
                f"{self.name}(batch={self.batch!r}): expected po.optim.FullBatch() or po.optim.MiniBatch()"
            )
        c = self.clip_norm
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 < c < math.inf):
            raise ConfigError(f"{self.name}(clip_norm={c!r}): expected a positive finite number or None")
        e = self.epochs
        if e is not None and (isinstance(e, bool) or not isinstance(e, int) or e < 0):
            raise ConfigError(f"{self.name}(epochs={e!r}): expected an int >= 0 or None")

    def _check_betas(self, betas: Any) -> None:
        ok = isinstance(betas, (tuple, list)) and len(betas) == 2
        if not ok or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
            raise ConfigError(f"{self.name}(betas={betas!r}): expected two numbers in [0, 1)")

    def _check_nonnegative(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ConfigError(f"{self.name}({name}={value!r}): expected a finite number >= 0")


def _check_fused(owner: str, fused: Any) -> None:
    if fused is not None and not isinstance(fused, bool):
        raise ConfigError(f"{owner}(fused={fused!r}): expected True, False or None (automatic)")


def _fused_option(params: list[torch.Tensor], fused: bool | None) -> dict[str, bool]:
    """``fused=True`` for torch's single-kernel Adam where it exists (CUDA; the CPU since torch
    2.4), unless the phase says otherwise: one kernel for all parameters instead of several
    per parameter, the same update to round-off."""
    if fused is None:
        major, minor = (int(v) for v in torch.__version__.split(".")[:2])
        devices = {p.device.type for p in params}
        fused = (
            bool(params)
            and all(p.is_floating_point() for p in params)
            and (devices == {"cuda"} or (devices == {"cpu"} and (major, minor) >= (2, 4)))
        )
    return {"fused": True} if fused else {}


@dataclass(frozen=True, repr=False)
class _AdamFamily(GradientPhase):
    """Fields, checks and construction shared by :class:`Adam` and :class:`AdamW`."""

    optimizer: ClassVar[type[torch.optim.Optimizer]]
    steps: int = 2000
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    _: KW_ONLY
    fused: bool | None = None

    def __post_init__(self) -> None:
        self._check()
        self._check_betas(self.betas)
        self._check_nonnegative("weight_decay", self.weight_decay)
        _check_fused(self.name, self.fused)

    def make(self, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
        params = list(params)
        return self.optimizer(
            params,
            lr=self.lr,
            betas=tuple(self.betas),
            weight_decay=self.weight_decay,
            **_fused_option(params, self.fused),
        )


@dataclass(frozen=True, repr=False)
class Adam(_AdamFamily):
    """Adam (Kingma & Ba).

    ``fused``: torch's single-kernel implementation (default ``None``: where torch has it,
    on CUDA and, since torch 2.4, on the CPU); ``False`` uses the per-parameter loop.
    """

    optimizer: ClassVar[type[torch.optim.Optimizer]] = torch.optim.Adam


@dataclass(frozen=True, repr=False)
class AdamW(_AdamFamily):
    """Adam with decoupled weight decay (Loshchilov & Hutter); ``fused`` as for :class:`Adam`."""

    optimizer: ClassVar[type[torch.optim.Optimizer]] = torch.optim.AdamW
    weight_decay: float = 1e-2


@dataclass(frozen=True, repr=False)
class SGD(GradientPhase):
    """Gradient descent, optionally with (Nesterov) momentum.

    With the default full batch this is batch gradient descent; ``batch=po.optim.MiniBatch(32)``
    makes it mini-batch gradient descent and ``batch=po.optim.MiniBatch(1)`` stochastic gradient
    descent (one point of each point set per update).
    """

    steps: int = 2000
    lr: float = 1e-2
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        self._check()
        check_flag(self.name, "nesterov", self.nesterov)
        m = self.momentum
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m < 1:
            raise ConfigError(f"{self.name}(momentum={m!r}): expected a number in [0, 1)")
        if self.nesterov and m == 0:
            raise ConfigError(f"{self.name}(nesterov=True) needs momentum > 0")
        self._check_nonnegative("weight_decay", self.weight_decay)

    def make(self, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
        return torch.optim.SGD(
            params,
            lr=self.lr,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
        )


@dataclass(frozen=True, repr=False)
class Momentum(SGD):
    """Gradient descent with heavy-ball momentum (default 0.9; ``nesterov=True`` for Nesterov)."""

    steps: int = 2000
    lr: float = 1e-2
    momentum: float = 0.9


@dataclass(frozen=True, repr=False)
class LBFGS(Phase):
    """L-BFGS with a strong Wolfe line search; one step is one iteration.

    It runs until ``steps`` iterations or until one of its tolerances fires (the result
    names which): ``tolerance_grad`` on the largest gradient component,
    ``tolerance_change`` on the relative loss decrease of an iteration,
    ``tolerance_step`` on the largest parameter update (each a finite number ``>= 0``).
    It always uses the full batch
    (``batch`` may only be None or ``po.optim.FullBatch()``); under data-parallel training the
    loss and gradient are averaged across ranks so every rank runs the same line search.
    """

    quasi_newton: ClassVar[bool] = True
    steps: int = 5000
    lr: float = 1.0
    history_size: int = 50
    tolerance_grad: float = 1e-11
    tolerance_change: float = 1e-13
    tolerance_step: float = 1e-14
    max_line_search: int = 25
    _: KW_ONLY
    batch: Batching | None = None
    stop: Criterion | None = None

    def __post_init__(self) -> None:
        self._check()
        for name in ("history_size", "max_line_search"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"LBFGS({name}={v!r}): expected an int >= 1")
        for name in ("tolerance_grad", "tolerance_change", "tolerance_step"):
            check_tolerance(self.name, name, getattr(self, name))
        if self.batch is not None and not (isinstance(self.batch, FullBatch) and self.batch.trivial):
            raise ConfigError(
                f"LBFGS(batch={self.batch!r}): L-BFGS always uses the full batch (its curvature pairs "
                "need the same objective at every iteration); use mini-batches in an Adam/SGD phase"
            )

    def runner(self, ctx: RunnerContext) -> PhaseRunner:
        """An :class:`~pinnopt.train.runners.LBFGSRunner` for this phase."""
        return LBFGSRunner(self, ctx)

    def make(self, params: Iterable[torch.Tensor], lr_scale: float = 1.0) -> LBFGSOptimizer:
        """Create the L-BFGS optimizer (its step length scaled by ``lr_scale``)."""
        return LBFGSOptimizer(
            list(params),
            lr=self.lr * lr_scale,
            history_size=self.history_size,
            tolerance_grad=self.tolerance_grad,
            tolerance_change=self.tolerance_change,
            tolerance_step=self.tolerance_step,
            max_line_search=self.max_line_search,
        )
