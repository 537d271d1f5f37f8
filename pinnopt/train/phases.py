"""Optimizer phases: each runs a number of steps; phases chain with one step counter."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .lbfgs import LBFGSOptimizer


class Phase(abc.ABC):
    """One stage of training (``Adam(steps=2000)`` then ``LBFGS(steps=5000)``...)."""

    steps: int

    @property
    def name(self) -> str:
        return type(self).__name__

    def _check(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ConfigError(f"{self.name}(steps={self.steps!r}): expected an int >= 0")
        lr = getattr(self, "lr", 1.0)
        if not (isinstance(lr, (int, float)) and lr > 0 and lr != float("inf")):
            raise ConfigError(f"{self.name}(lr={lr!r}): expected a positive finite number")


class GradientPhase(Phase):
    """A phase driven by a ``torch.optim`` optimizer: one gradient evaluation per step."""

    lr: float

    @abc.abstractmethod
    def make(self, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
        """Create the optimizer."""


@dataclass(frozen=True)
class Adam(GradientPhase):
    """Adam (Kingma & Ba) with a constant learning rate."""

    steps: int = 2000
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        self._check()

    def make(self, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.lr, betas=self.betas, weight_decay=self.weight_decay)


@dataclass(frozen=True)
class SGD(GradientPhase):
    """Gradient descent, optionally with (Nesterov) momentum."""

    steps: int = 2000
    lr: float = 1e-2
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        self._check()

    def make(self, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, nesterov=self.nesterov)


@dataclass(frozen=True)
class LBFGS(Phase):
    """L-BFGS with a strong Wolfe line search; one step is one iteration.

    It runs until ``steps`` iterations or until one of its tolerances fires (the result
    names which): ``tolerance_grad`` on the largest gradient component,
    ``tolerance_change`` on the relative loss decrease of an iteration,
    ``tolerance_step`` on the largest parameter update.
    """

    steps: int = 5000
    lr: float = 1.0
    history_size: int = 50
    tolerance_grad: float = 1e-11
    tolerance_change: float = 1e-13
    tolerance_step: float = 1e-14
    max_line_search: int = 25

    def __post_init__(self) -> None:
        self._check()
        if self.history_size < 1 or self.max_line_search < 1:
            raise ConfigError("LBFGS: history_size and max_line_search must be >= 1")

    def make(self, params: Iterable[torch.Tensor]) -> LBFGSOptimizer:
        return LBFGSOptimizer(
            list(params),
            lr=self.lr,
            history_size=self.history_size,
            tolerance_grad=self.tolerance_grad,
            tolerance_change=self.tolerance_change,
            tolerance_step=self.tolerance_step,
            max_line_search=self.max_line_search,
        )
