"""The objective: a named, weighted sum of loss terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..symbolic import AutogradEngine, DerivativeEngine, DerivativePlan, Field
from .evaluation import Evaluation
from .points import PointSet
from .terms import Term


def derivative_plans(terms: Sequence[Term]) -> dict[str, DerivativePlan]:
    """What each point set must provide for ``terms``: one derivative plan per point set."""
    need: dict[str, set[Field]] = {}
    for t in terms:
        if t.point_set is not None:
            need.setdefault(t.point_set, set()).update(t.fields)
    return {name: DerivativePlan.build(f) for name, f in need.items()}


class Objective:
    """``J = sum_i w_i L_i`` over named terms; each point set is evaluated once per call.

    Args:
        terms: the loss terms; names must be unique.
        unknowns: the model's output names, in column order.
        engine: the derivative engine (default: reverse-mode autograd).

    ``weights`` is a tensor that loss-balancing strategies may rewrite between steps.
    ``scalars`` holds named values that every evaluation reads in addition to the model's
    trainable scalars (a curriculum coefficient set by a training hook); strategies update
    these tensors in place.
    """

    def __init__(
        self,
        terms: Sequence[Term],
        unknowns: Sequence[str],
        engine: DerivativeEngine | None = None,
    ) -> None:
        self.terms = tuple(terms)
        if not self.terms:
            raise ConfigError("the objective has no terms")
        names = [t.name for t in self.terms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"loss term names must be unique; repeated: {dupes}")
        self.names = tuple(names)
        self.unknowns = tuple(unknowns)
        self.engine = engine or AutogradEngine()
        self.plans = derivative_plans(self.terms)
        self.weights = torch.tensor([t.weight for t in self.terms], dtype=torch.float64)
        self.scalars: dict[str, torch.Tensor] = {}

    @property
    def point_set_names(self) -> tuple[str, ...]:
        """Names of the point sets the terms need."""
        return tuple(self.plans)

    def to(self, dtype: torch.dtype, device: torch.device) -> Objective:
        """Move the weights (in place) and return self."""
        self.weights = self.weights.to(dtype=dtype, device=device)
        return self

    def evaluation(
        self,
        model: nn.Module,
        points: Mapping[str, PointSet],
        *,
        scalars: Mapping[str, Any] | None = None,
        create_graph: bool = True,
        reference: Mapping[str, PointSet] | None = None,
    ) -> Evaluation:
        """A fresh :class:`Evaluation` of ``model`` on ``points``.

        ``reference``: the point sets whose interior batch gives batch-norm statistics
        (default ``points``; pass the training points when ``points`` holds candidates).
        """
        missing = [n for n in self.plans if n not in points]
        if missing:
            raise ConfigError(f"no points given for point sets {missing}")
        return Evaluation(
            model,
            points,
            self.plans,
            self.engine,
            self.unknowns,
            scalars={**self.scalars, **(scalars or {})} if self.scalars else scalars,
            create_graph=create_graph,
            grouped=True,
            reference=reference,
        )

    def losses(self, ev: Evaluation) -> torch.Tensor:
        """The unweighted term losses, shape ``(n_terms,)``, in :attr:`names` order."""
        return torch.stack([t.loss(ev) for t in self.terms])

    def __call__(
        self,
        model: nn.Module,
        points: Mapping[str, PointSet],
        *,
        create_graph: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(J, losses)``: the weighted total and the per-term losses."""
        ev = self.evaluation(model, points, create_graph=create_graph)
        losses = self.losses(ev)
        return torch.dot(self.weights, losses), losses

    def state_dict(self) -> dict[str, Any]:
        """Weights and the state of stateful terms."""
        state: dict[str, Any] = {
            "weights": self.weights.detach().clone(),
            "terms": {t.name: t.state_dict() for t in self.terms},
        }
        if self.scalars:
            state["scalars"] = {k: v.detach().clone() for k, v in self.scalars.items()}
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.weights = state["weights"].to(self.weights)
        with torch.no_grad():
            for k, v in state.get("scalars", {}).items():
                if k in self.scalars:
                    self.scalars[k].copy_(v)
        for t in self.terms:
            t.load_state_dict(state["terms"].get(t.name, {}))
