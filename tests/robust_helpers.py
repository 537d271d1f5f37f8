"""Small min-max problems over trainable scalars, built from pinnopt's public pieces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp
import torch
from torch import nn

import pinnopt as po
from pinnopt.losses import Evaluation, Objective, PointSet, Term
from pinnopt.nn import PINN
from pinnopt.symbolic import CompiledExpression, Field, SymbolContext, compile_expression
from pinnopt.train import Trainer

S = sp.Symbol("s")  # a dummy coordinate: the problems below have one point and no unknown field


def scalar(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> CompiledExpression:
    """Compile an expression of scalars only (parameters and uncertain coefficients)."""
    return compile_expression(expr, SymbolContext((S,), ("u",), tuple(symbols)), require_unknown=False)


class ValueTerm(Term):
    """``loss = mean(expr)`` (not squared): a custom term, so robust groups evaluate it per xi."""

    def __init__(self, name: str, expr: CompiledExpression, weight: float = 1.0) -> None:
        self.name, self.expr, self.weight, self.point_set = name, expr, weight, "p"

    @property
    def fields(self) -> frozenset[Field]:
        return self.expr.fields

    def loss(self, ev: Evaluation) -> torch.Tensor:
        return self.expr(ev.env("p")).mean()


class _Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x[:, :1])


def points() -> dict[str, PointSet]:
    return {"p": PointSet("p", torch.zeros(1, 1, dtype=torch.float64))}


def model(params: Mapping[sp.Symbol, float]) -> PINN:
    return PINN(_Zero(), ("u",), [po.Parameter(s, v) for s, v in params.items()]).double()


def train(terms: Sequence[Term], params: Mapping[sp.Symbol, float], phases: Sequence[po.train.Phase]):
    """Minimize the objective of ``terms`` over the scalars ``params``; return (model, objective)."""
    m = model(params)
    objective = Objective(terms, ("u",))
    Trainer(m, objective, points(), phases, log_every=1000).run()
    return m, objective
