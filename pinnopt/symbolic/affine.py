"""Models whose outputs are affine in an inner network: ``u_k = g_k(x) + d_k(x) N_k(x)``.

Hard constraints (:class:`pinnopt.compile.hard.HardConstrained`) have this shape, with ``g``
and ``d`` known functions of the points. Their derivatives follow from the inner network's by
Leibniz's rule,

    D^a u_k = D^a g_k + sum_{b <= a} binom(a, b) D^b d_k  D^(a-b) N_k,

so an engine that recognizes the inner network (Taylor mode) can evaluate the inner fields
of every lower multi-index and combine them here, instead of falling back to nested
reverse-mode autograd through the whole model. :func:`evaluate_affine` does this for any
engine; the derivatives of ``g`` and ``d`` come from the model (:class:`AffineOutput`).
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from .derivatives import DerivativePlan
from .fields import Field

Requests = Mapping[str, tuple[torch.Tensor, DerivativePlan]]
EvaluateSets = Callable[[nn.Module, Requests], dict[str, dict[Field, torch.Tensor]]]


class AffineOutput(nn.Module, abc.ABC):
    """A model ``u_k = g_k(x) + d_k(x) N_k(x)`` for its output columns ``k`` in
    :attr:`affine_columns`, ``u_k = N_k(x)`` for the others, with ``N`` = :attr:`inner`."""

    inner: nn.Module

    @property
    def symbolic_derivatives(self) -> bool:
        """Whether :meth:`offset_derivative` and :meth:`factor_derivative` can be evaluated
        (else engines differentiate the whole model, e.g. with reverse-mode autograd)."""
        return True

    @property
    @abc.abstractmethod
    def affine_columns(self) -> Sequence[int]:
        """The output columns of the form ``g + d N``."""

    @abc.abstractmethod
    def offset_derivative(self, column: int, orders: tuple[int, ...], x: torch.Tensor) -> torch.Tensor | None:
        """``D^orders g`` of ``column`` at the points ``x`` (shape ``(N,)``), None where zero."""

    @abc.abstractmethod
    def factor_derivative(self, column: int, orders: tuple[int, ...], x: torch.Tensor) -> torch.Tensor | None:
        """``D^orders d`` of ``column`` at the points ``x`` (shape ``(N,)``), None where zero."""


def _below(orders: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every multi-index ``b <= orders`` (componentwise)."""
    return list(itertools.product(*(range(k + 1) for k in orders)))


def inner_plan(plan: DerivativePlan, affine: set[str]) -> DerivativePlan:
    """The inner network's plan: every lower multi-index of the affine unknowns' fields."""
    need: set[Field] = set()
    for f in plan.wanted | plan.values:
        if f.unknown in affine:
            need.update(Field(f.unknown, b) for b in _below(f.orders))
        else:
            need.add(f)
    return DerivativePlan.build(need)


def combine(
    model: AffineOutput,
    x: torch.Tensor,
    plan: DerivativePlan,
    inner: Mapping[Field, torch.Tensor],
    unknowns: Sequence[str],
) -> dict[Field, torch.Tensor]:
    """The fields of ``plan`` for ``model`` from its inner network's fields (Leibniz's rule)."""
    columns = {unknowns[c]: c for c in model.affine_columns}
    out: dict[Field, torch.Tensor] = {}
    factors: dict[tuple[int, tuple[int, ...]], torch.Tensor | None] = {}  # D^b d, shared by the fields
    for f in plan.wanted | plan.values:
        col = columns.get(f.unknown)
        if col is None:
            out[f] = inner[f]
            continue
        acc = model.offset_derivative(col, f.orders, x)
        for b in _below(f.orders):
            if (col, b) not in factors:
                factors[(col, b)] = model.factor_derivative(col, b, x)
            db = factors[(col, b)]
            if db is None:
                continue
            rest = tuple(a - c for a, c in zip(f.orders, b, strict=True))
            coeff = math.prod(math.comb(a, c) for a, c in zip(f.orders, b, strict=True))
            term = db * inner[Field(f.unknown, rest)]
            if coeff != 1:
                term = term * coeff
            acc = term if acc is None else acc + term
        out[f] = acc if acc is not None else torch.zeros_like(x[:, 0])
    return out


def evaluate_affine(
    model: AffineOutput, requests: Requests, unknowns: Sequence[str], evaluate_sets: EvaluateSets
) -> dict[str, dict[Field, torch.Tensor]]:
    """Fields of several point sets of ``model`` through ``evaluate_sets`` on its inner
    network (called once, with every set's inner plan), combined by :func:`combine`."""
    affine = {unknowns[c] for c in model.affine_columns}
    inner_requests = {name: (x, inner_plan(plan, affine)) for name, (x, plan) in requests.items()}
    got = evaluate_sets(model.inner, inner_requests)
    return {name: combine(model, x, plan, got[name], unknowns) for name, (x, plan) in requests.items()}
