"""A torch module that evaluates a problem's symbolic exact solution.

It lets the compiled residuals be checked on the exact solution itself: a model that
returns the exact solution must make every equation and condition vanish (up to
round-off). Derivatives flow through it by autograd like through any network.
"""

from __future__ import annotations

import torch
from torch import nn

from ..declare.problem import Problem
from ..errors import ValidationError
from ..symbolic import Env, SymbolContext, compile_expression


class ExactModel(nn.Module):
    """Maps ``(N, dim)`` points to the exact unknowns ``(N, n_unknowns)``.

    Trainable parameters with a known ``exact`` value are exposed through
    :meth:`scalars`, so residuals that use them evaluate with their true values.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__()
        exact = problem.exact_solution
        if exact is None or exact.symbolic is None:
            raise ValidationError(
                f"problem {problem.name!r} has no symbolic exact solution; ExactModel needs sympy "
                "expressions for every unknown"
            )
        ctx = SymbolContext(problem.coordinates, functions=problem.context.functions)
        self.unknowns = problem.unknowns
        self._exprs = [
            compile_expression(exact.symbolic[u], ctx, what=f"exact {u}", require_unknown=False)
            for u in problem.unknowns
        ]
        self._scalars = {
            p.name: float(p.exact if p.exact is not None else p.init) for p in problem.parameters
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env = Env(x.unbind(1), {}, {})
        return torch.stack([e(env) for e in self._exprs], dim=1)

    def scalars(self) -> dict[str, torch.Tensor | float]:
        """True (or initial) values of the problem's trainable parameters."""
        return dict(self._scalars)
