"""Loss terms of declared constraints: energies, equality constraints (augmented Lagrangian),
regularization of parameters, priors on network weights, and losses of the parameters
(``po.Minimize``). The declarations live in :mod:`pinnopt.declare`."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..declare.energy import WEIGHT_KEY
from ..declare.equality import Equality
from ..declare.regularization import Regularizer, WeightPrior
from ..symbolic import CompiledExpression, Field
from ..symbolic.scalars import scalar_env
from .evaluation import Evaluation
from .terms import Term


class EnergyTerm(Term):
    """``|domain| * sum_i w_i f(x_i) / sum_i w_i`` over its point set (``w`` in ``data["quad_weight"]``).

    On the full point set this is the quadrature ``sum_i w_i f(x_i)``; written as a weighted
    mean times the measure it stays an estimate of the same integral on a subset of the
    points (mini-batches).
    """

    def __init__(
        self, name: str, point_set: str, integrand: CompiledExpression, measure: float, weight: float = 1.0
    ) -> None:
        self.name = name
        self.point_set = point_set
        self.integrand = integrand
        self.measure = float(measure)
        self.weight = float(weight)

    @property
    def fields(self) -> frozenset[Field]:
        return self.integrand.fields

    def loss(self, ev: Evaluation) -> torch.Tensor:
        env = ev.env(self.point_set)
        w = env.data[WEIGHT_KEY]
        return self.measure * torch.sum(w * self.integrand(env)) / torch.sum(w)


class EqualityTerm(Term):
    """Penalty or augmented-Lagrangian term of one equality ``h(p) = 0``.

    State: the multiplier ``lam`` (0 at the start) and ``rho``.
    """

    def __init__(self, name: str, h: CompiledExpression, equality: Equality) -> None:
        self.name = name
        self.h = h
        self.equality = equality
        self.method = equality.method
        self.weight = float(equality.weight)
        self.point_set = None
        self.lam = torch.zeros((), dtype=torch.float64)
        self.rho = torch.tensor(float(equality.rho), dtype=torch.float64)
        self._last_abs = torch.full((), math.inf, dtype=torch.float64)

    def value(self, scalars: Any) -> torch.Tensor:
        """``h`` at the given parameter values (0-d)."""
        return self.h(scalar_env(scalars))

    def _sync(self, ref: torch.Tensor) -> None:
        if self.lam.dtype != ref.dtype or self.lam.device != ref.device:
            self.lam = self.lam.to(ref)
            self.rho = self.rho.to(ref)
            self._last_abs = self._last_abs.to(ref)

    def loss(self, ev: Evaluation) -> torch.Tensor:
        h = self.value(ev.scalars)
        self._sync(h)
        quad = 0.5 * self.rho * h * h
        return quad if self.method == "penalty" else self.lam * h + quad

    @torch.no_grad()
    def update(self, scalars: Any) -> None:
        """The multiplier step ``lam <- lam + rho * h`` (and the optional ``rho`` growth), on device."""
        if self.method != "augmented":
            return
        h = self.value(scalars).detach()
        self._sync(h)
        self.lam.add_(self.rho * h)
        growth = float(self.equality.rho_growth)
        if growth > 1.0:
            stalled = h.abs() > 0.25 * self._last_abs
            self.rho.copy_(torch.where(stalled, self.rho * growth, self.rho))
        self._last_abs.copy_(h.abs())

    def state_dict(self) -> dict[str, Any]:
        return {
            "lam": self.lam.detach().to("cpu", torch.float64).clone(),
            "rho": self.rho.detach().to("cpu", torch.float64).clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "lam" in state:
            self.lam = torch.as_tensor(state["lam"]).to(self.lam).clone()
            self.rho = torch.as_tensor(state["rho"]).to(self.rho).clone()


class RegularizationTerm(Term):
    """The loss term of one :class:`Regularizer` (reads only the trainable parameters)."""

    def __init__(self, name: str, expr: CompiledExpression, regularizer: Regularizer) -> None:
        self.name = name
        self.expr = expr
        self.regularizer = regularizer
        self.weight = float(regularizer.weight)
        self.point_set = None

    def loss(self, ev: Evaluation) -> torch.Tensor:
        return self.regularizer.penalty(self.expr(scalar_env(ev.scalars)))


class ScalarTerm(Term):
    """A scalar expression of the trainable parameters used as a loss term as is (``po.Minimize``)."""

    def __init__(self, name: str, expr: CompiledExpression, weight: float = 1.0) -> None:
        self.name = name
        self.expr = expr
        self.weight = float(weight)
        self.point_set = None

    def loss(self, ev: Evaluation) -> torch.Tensor:
        return self.expr(scalar_env(ev.scalars))


class WeightPriorTerm(Term):
    """The loss term of a :class:`~pinnopt.declare.regularization.WeightPrior`: a penalty of the
    network's weights (the trainable scalars of the problem are not part of it)."""

    def __init__(self, name: str, prior: WeightPrior) -> None:
        self.name = name
        self.prior = prior
        self.weight = float(prior.weight)
        self.point_set = None

    def loss(self, ev: Evaluation) -> torch.Tensor:
        model = ev.model
        while not hasattr(model, "params") and hasattr(model, "model"):  # robust wrappers
            model = model.model
        net = getattr(model, "net", model)
        tensors = [p for p in net.parameters() if p.requires_grad and (self.prior.biases or p.dim() >= 2)]
        if not tensors:
            ref = next(iter(ev.scalars.values()), None)
            return torch.zeros((), dtype=ref.dtype if isinstance(ref, torch.Tensor) else torch.float64)
        return torch.stack([self.prior.penalty(p) for p in tensors]).sum()
