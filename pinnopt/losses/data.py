"""Loss terms that are not a single residual: data misfit and paired (periodic) matching."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..symbolic import CompiledExpression, Field
from .evaluation import Evaluation
from .terms import ResidualTerm, Term


class DataTerm(ResidualTerm):
    """Misfit to observations: mean (optionally weighted) square of ``expr - data[target]``.

    ``expr`` is any compiled expression of the unknowns and their derivatives (``u``,
    ``u_x``, ``u + v``); the observed values travel with the point set under ``target``,
    per-point weights under ``point_weights``.
    """

    def __init__(
        self,
        name: str,
        point_set: str,
        expr: CompiledExpression,
        target: str,
        weight: float = 1.0,
        *,
        point_weights: str | None = None,
    ) -> None:
        super().__init__(name, point_set, expr, weight, target=target, point_weights=point_weights)


class PairedTerm(Term):
    """Matches expressions between paired points: the point set holds ``[p; q]`` (halves).

    The loss is ``sum_e mean((e(p) - e(q))^2)`` over the expressions ``e``; periodic
    conditions pair each point of the side ``x = a`` with its image on ``x = b`` and match
    the unknowns and their derivatives.
    """

    def __init__(
        self, name: str, point_set: str, exprs: Sequence[CompiledExpression], weight: float = 1.0
    ) -> None:
        if not exprs:
            raise ValueError(f"paired term {name!r} needs at least one expression")
        self.name = name
        self.point_set = point_set
        self.exprs = tuple(exprs)
        self.weight = float(weight)

    @property
    def fields(self) -> frozenset[Field]:
        out: frozenset[Field] = frozenset()
        for e in self.exprs:
            out |= e.fields
        return out

    def differences(self, ev: Evaluation) -> list[torch.Tensor]:
        """``e(p) - e(q)`` per expression, each of shape ``(N/2,)``."""
        env = ev.env(self.point_set)
        out = []
        for e in self.exprs:
            v = e(env)
            half = v.shape[0] // 2
            out.append(v[:half] - v[half:])
        return out

    def loss(self, ev: Evaluation) -> torch.Tensor:
        return torch.stack([torch.mean(d * d) for d in self.differences(ev)]).sum()
