"""Loss terms: named pieces of the objective."""

from __future__ import annotations

import abc
from typing import Any

import torch

from ..symbolic import CompiledExpression, Field
from .evaluation import Evaluation


class Term(abc.ABC):
    """One named, weighted part of the objective.

    A term reads the fields it needs on its point set from an :class:`Evaluation` and
    returns a scalar loss. Terms that carry training state (adaptive weights, barrier
    coefficients, warm starts) expose it through ``state_dict``/``load_state_dict`` and
    update it in :meth:`on_step`; they never reach into the trainer.
    """

    name: str
    weight: float
    point_set: str | None

    @property
    def fields(self) -> frozenset[Field]:
        """Fields needed on :attr:`point_set`."""
        return frozenset()

    @abc.abstractmethod
    def loss(self, ev: Evaluation) -> torch.Tensor:
        """The term's unweighted loss, a 0-d tensor."""

    least_squares: bool = False
    """True for terms whose loss is a mean of squared pointwise residuals (:class:`ResidualTerm`):
    second-order phases (Levenberg-Marquardt) read them through :meth:`ResidualTerm.scaled_residual`."""

    def on_step(self, step: int) -> None:  # noqa: B027 - optional hook
        """Called by the trainer after each optimizer step (default: nothing)."""

    def state_dict(self) -> dict[str, Any]:
        """Training state to checkpoint (default: none)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore training state saved by :meth:`state_dict`."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, weight={self.weight:g})"


class ResidualTerm(Term):
    """Mean squared value of a compiled expression on a point set.

    With ``target`` the residual is ``expr - data[target]`` (observations); with
    ``point_weights`` the mean is weighted by ``data[point_weights]``.

    Least squares: the loss is ``sum(s * s)`` of the scaled residual
    ``s = residual * point_scale`` (:meth:`scaled_residual`), ``point_scale = 1 / sqrt(N)``
    or ``sqrt(w_i / sum w)``; Levenberg-Marquardt stacks these vectors of all terms.
    """

    least_squares = True

    def __init__(
        self,
        name: str,
        point_set: str,
        expr: CompiledExpression,
        weight: float = 1.0,
        *,
        target: str | None = None,
        point_weights: str | None = None,
    ) -> None:
        self.name = name
        self.point_set = point_set
        self.expr = expr
        self.weight = float(weight)
        self.target = target
        self.point_weights = point_weights

    @property
    def fields(self) -> frozenset[Field]:
        return self.expr.fields

    def residual(self, ev: Evaluation) -> torch.Tensor:
        """The pointwise residual, shape ``(N,)``."""
        env = ev.env(self.point_set)
        r = self.expr(env)
        if self.target is not None:
            r = r - env.data[self.target]
        return r

    def point_scale(self, data: dict[str, torch.Tensor], n: int, like: torch.Tensor) -> torch.Tensor:
        """The per-point factor of :meth:`scaled_residual` for a set of ``n`` points with ``data``:
        ``1 / sqrt(n)`` (a 0-d tensor), or ``sqrt(w_i / sum w)`` with point weights (shape ``(n,)``)."""
        if self.point_weights is None:
            return torch.tensor(1.0 / n, dtype=like.dtype, device=like.device).sqrt()
        w = data[self.point_weights]
        return torch.sqrt(w / torch.sum(w))

    def scaled_residual(self, ev: Evaluation) -> torch.Tensor:
        """``residual * point_scale``, shape ``(N,)``: the loss is the sum of its squares."""
        r = self.residual(ev)
        data = ev.env(self.point_set).data
        return r * self.point_scale(data, r.shape[0], r)

    def loss(self, ev: Evaluation) -> torch.Tensor:
        r = self.residual(ev)
        if self.point_weights is None:
            return torch.mean(r * r)
        w = ev.env(self.point_set).data[self.point_weights]
        return torch.sum(w * r * r) / torch.sum(w)
