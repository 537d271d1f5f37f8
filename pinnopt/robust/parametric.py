"""Parametric networks: the uncertain coefficients as extra inputs of the model.

When the solution itself depends on an uncertain coefficient (a design whose state
``u(x; theta, xi)`` solves a DE for each ``xi``), one network ``u(x, xi)`` covers the whole
set: :class:`ParametricNet` appends the ``xi`` columns to the coordinates. Called with
coordinates only (validation, prediction, nominal terms) it appends the nominal ``xi``;
robust terms pass ``xi`` explicitly, so the inner maximization moves ``xi`` through the
network. Derivatives with respect to the coordinates are unaffected: ``xi`` is not part
of the coordinate tensor the derivative engine differentiates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, ProblemError
from ..nn import MLP, ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem


class ParametricNet(nn.Module):
    """``net([x, xi])``: a network of the coordinates and the uncertain coefficients.

    Args:
        net: maps ``(N, dim + len(names))`` inputs to the unknowns.
        dim: number of coordinates.
        names: the uncertain coefficients, in input-column order.
        nominal: their nominal values (used when no ``xi`` is given).
    """

    def __init__(self, net: nn.Module, dim: int, names: Sequence[str], nominal: Sequence[float]) -> None:
        super().__init__()
        self.net = net
        self.dim = int(dim)
        self.names = tuple(names)
        nominal_t = torch.as_tensor(np.asarray(nominal, dtype=np.float64)).reshape(-1)
        if nominal_t.numel() != len(self.names):
            raise ConfigError(
                f"ParametricNet: {len(self.names)} names but {nominal_t.numel()} nominal values"
            )
        self.register_buffer("nominal", nominal_t)

    def forward(self, x: torch.Tensor, xi: torch.Tensor | None = None) -> torch.Tensor:
        """Evaluate at points ``x`` (``(N, dim)``) and ``xi`` (``(n,)``, ``(N, n)``, or None: nominal)."""
        if xi is None:
            xi = self.nominal
        xi = xi.to(dtype=x.dtype)
        if xi.dim() == 1:
            xi = xi.expand(x.shape[0], -1)
        return self.net(torch.cat([x, xi], 1))


@dataclass(frozen=True)
class Parametric:
    """Model specification: a network taking the problem's uncertain coefficients as inputs.

    ``po.solve(problem, model=po.robust.Parametric(po.nn.MLP(width=32)))``. The input scaling of an
    MLP covers the domain's bounding box and the uncertainty set's bounding box.

    Args:
        base: the network spec (``po.nn.MLP``) or a module mapping ``(N, dim + n_uncertain)``
            inputs to the unknowns.
    """

    base: Any = field(default=None)

    def build(self, problem: Problem) -> ParametricNet:
        """Build the parametric network for ``problem``."""
        space = problem.uncertainty
        if space is None:
            raise ProblemError(
                "po.robust.Parametric needs uncertain coefficients (Problem(uncertain=...)); "
                "this problem declares none"
            )
        base: ModelSpec | nn.Module = self.base if self.base is not None else MLP()
        dim = problem.domain.dim
        n_out = len(problem.unknowns)
        if isinstance(base, ModelSpec):
            lo, hi = problem.domain.bounds
            slo, shi = space.bounds()
            flat = shi <= slo
            slo, shi = np.where(flat, slo - 1, slo), np.where(flat, shi + 1, shi)
            bounds = ([*lo, *slo.tolist()], [*hi, *shi.tolist()])
            net: nn.Module = base.build(dim + space.dim, n_out, bounds)
        elif isinstance(base, nn.Module):
            net = base
        else:
            raise ConfigError(
                f"Parametric(base={base!r}): expected a model spec (po.nn.MLP...) or a torch.nn.Module"
            )
        return ParametricNet(net, dim, space.names, space.nominal)


def is_parametric(model: nn.Module) -> bool:
    """Whether ``model`` (a PINN) wraps a :class:`ParametricNet`."""
    return isinstance(getattr(model, "net", None), ParametricNet)
