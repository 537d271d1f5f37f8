"""Automatic choice between Taylor mode and reverse-mode autograd, per point set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ...errors import ConfigError
from ...symbolic.affine import evaluate_affine
from ...symbolic.derivatives import AutogradEngine, DerivativeEngine, DerivativePlan
from ...symbolic.fields import Field
from .engine import TaylorEngine, affine_output, describe_mlp
from .sets import Request


class AutoEngine(DerivativeEngine):
    """Taylor mode where it applies and the plan has derivatives of order ``>= min_order``.

    Everything else (order-1 plans, unrecognized models, batch-coupled layers) goes to
    reverse-mode autograd (measured faster than Taylor mode at order 1). :meth:`resolve` says
    which engine a model and plan get. In :meth:`evaluate_sets` the sets that need only values
    join the Taylor-mode sets in one network call.

    Args:
        min_order: the lowest highest-derivative order for which Taylor mode is used.
    """

    name = "auto"

    def __init__(self, min_order: int = 2) -> None:
        if isinstance(min_order, bool) or not isinstance(min_order, int) or min_order < 1:
            raise ConfigError(f"AutoEngine(min_order={min_order!r}): expected an int >= 1")
        self.min_order = min_order
        self.autograd = AutogradEngine()
        self.taylor = TaylorEngine(fallback=self.autograd)

    def __repr__(self) -> str:
        """The engine and its settings (recorded in the run's config and fingerprint)."""
        return f"AutoEngine(min_order={self.min_order})"

    def resolve(self, model: nn.Module, plan: DerivativePlan) -> DerivativeEngine:
        if plan.max_order >= self.min_order and self.taylor.applies(model, plan):
            return self.taylor
        return self.autograd

    def evaluate(
        self,
        model: nn.Module,
        points: torch.Tensor,
        plan: DerivativePlan,
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[Field, torch.Tensor]:
        engine = self.resolve(model, plan)
        return engine.evaluate(model, points, plan, unknowns, create_graph=create_graph)

    def evaluate_sets(
        self,
        model: nn.Module,
        requests: Mapping[str, Request],
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[str, dict[Field, torch.Tensor]]:
        """Sets for Taylor mode, and value-only sets with them, go to the Taylor engine together
        (it merges them into fewer calls); the others to autograd, one call per set. An
        :class:`~pinnopt.symbolic.affine.AffineOutput` (hard constraints) whose inner network
        Taylor mode recognizes is evaluated through that network (Leibniz's rule)."""
        affine = affine_output(model)
        if affine is not None and self.taylor.supports(affine):
            return evaluate_affine(
                affine,
                requests,
                unknowns,
                lambda inner, reqs: self.evaluate_sets(inner, reqs, unknowns, create_graph=create_graph),
            )
        view = describe_mlp(model, self.taylor.rules)
        if view is None:
            return super().evaluate_sets(model, requests, unknowns, create_graph=create_graph)
        mine = {n: r for n, r in requests.items() if not r[1].steps or r[1].max_order >= self.min_order}
        out = self.taylor.evaluate_sets_of(view, model, mine, unknowns, create_graph) if mine else {}
        for name, (x, plan) in requests.items():
            if name not in mine:
                out[name] = self.autograd.evaluate(model, x, plan, unknowns, create_graph=create_graph)
        return out
