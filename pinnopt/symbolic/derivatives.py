"""Evaluate a model and the derivatives of its outputs that compiled expressions need.

The derivative path sits behind :class:`DerivativeEngine`. A :class:`DerivativePlan`
decides, once per set of wanted fields, which lower derivative each higher one is built
from, so every distinct derivative is computed once per evaluation and mixed partials
follow one canonical multi-index. :class:`AutogradEngine` runs the plan with reverse-mode
autograd: one backward pass per parent field yields its derivatives in every coordinate.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .fields import Field


@dataclass(frozen=True)
class DerivativePlan:
    """An ordered recipe: for each parent field, which children to read off its gradient.

    Attributes:
        wanted: the fields asked for.
        values: undifferentiated unknowns needed (as outputs or as parents).
        steps: ``(parent, ((axis, child), ...))`` in an order where parents come first.
    """

    wanted: frozenset[Field]
    values: frozenset[Field]
    steps: tuple[tuple[Field, tuple[tuple[int, Field], ...]], ...]

    @property
    def max_order(self) -> int:
        """The highest total derivative order the plan computes (0: values only)."""
        return max([0, *(f.order for f in self.wanted)])  # (no ``default=``: torch.compile traces this)

    @staticmethod
    def build(wanted: Iterable[Field]) -> DerivativePlan:
        """Choose a parent for every wanted derivative, preferring parents already needed."""
        wanted = frozenset(wanted)
        needed = set(wanted)
        parent_of: dict[Field, tuple[int, Field]] = {}
        done: set[Field] = set()
        while True:
            todo = [f for f in needed if f not in done and f.order > 0]
            if not todo:
                break
            f = max(todo, key=lambda g: (g.order, g.orders, g.unknown))
            done.add(f)
            axes = [a for a, k in enumerate(f.orders) if k > 0]
            known = [a for a in axes if f.lowered(a) in needed]
            axis = known[-1] if known else axes[-1]
            parent = f.lowered(axis)
            needed.add(parent)
            parent_of[f] = (axis, parent)
        children: dict[Field, list[tuple[int, Field]]] = {}
        for child, (axis, parent) in parent_of.items():
            children.setdefault(parent, []).append((axis, child))
        order = sorted(children, key=lambda p: (p.order, p.unknown, p.orders))
        steps = tuple((p, tuple(sorted(children[p]))) for p in order)
        values = frozenset(f for f in needed if f.order == 0)
        return DerivativePlan(wanted, values, steps)


class DerivativeEngine(abc.ABC):
    """Computes model outputs and their derivatives at a set of points.

    Implementations must return, for every field in ``plan.wanted``, a tensor of shape
    ``(N,)``. The model maps ``(N, dim)`` inputs to ``(N, n_unknowns)`` outputs.
    """

    name: str = "engine"

    @abc.abstractmethod
    def evaluate(
        self,
        model: nn.Module,
        points: torch.Tensor,
        plan: DerivativePlan,
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[Field, torch.Tensor]:
        """Evaluate the fields of ``plan`` at ``points``."""

    def resolve(self, model: nn.Module, plan: DerivativePlan) -> DerivativeEngine:
        """The engine that actually evaluates ``plan`` for ``model`` (this one, unless it delegates)."""
        return self

    def evaluate_sets(
        self,
        model: nn.Module,
        requests: Mapping[str, tuple[torch.Tensor, DerivativePlan]],
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[str, dict[Field, torch.Tensor]]:
        """Evaluate several point sets ``{name: (points, plan)}`` at once.

        Engines may merge sets into fewer model calls where that gives the same fields (a
        pointwise network); the default evaluates each set on its own.
        """
        return {
            name: self.evaluate(model, x, plan, unknowns, create_graph=create_graph)
            for name, (x, plan) in requests.items()
        }


class AutogradEngine(DerivativeEngine):
    """Reverse-mode autograd, one backward pass per parent field (works for any model)."""

    name = "autograd"

    def __repr__(self) -> str:
        """``AutogradEngine()``: no settings."""
        return "AutogradEngine()"

    def evaluate(
        self,
        model: nn.Module,
        points: torch.Tensor,
        plan: DerivativePlan,
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[Field, torch.Tensor]:
        differentiate = bool(plan.steps)
        x = points.detach().requires_grad_(True) if differentiate else points
        out = model(x)
        column = {name: i for i, name in enumerate(unknowns)}
        values: dict[Field, torch.Tensor] = {f: out[:, column[f.unknown]] for f in plan.values}
        if not differentiate:
            return values
        ones: torch.Tensor | None = None
        parents = {p for p, _ in plan.steps}
        for parent, children in plan.steps:
            y = values[parent]
            if not y.requires_grad:  # e.g. the second derivative of a piecewise-linear model
                grad = torch.zeros_like(x)
            else:
                if ones is None:
                    ones = torch.ones_like(y)
                keep = create_graph or any(child in parents for _, child in children)
                (grad,) = torch.autograd.grad(
                    y, x, grad_outputs=ones, create_graph=keep, retain_graph=True, allow_unused=True
                )
                if grad is None:
                    grad = torch.zeros_like(x)
            for axis, child in children:
                values[child] = grad[:, axis]
        return values
