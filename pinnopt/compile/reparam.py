"""Exact parameter bounds by reparameterization: the optimizer moves a free variable ``z``.

* two-sided ``lo <= p <= hi``: ``p = lo + (hi - lo) * sigmoid(z)``;
* lower ``p >= lo``: ``p = lo + softplus(z)``;
* upper ``p <= hi``: ``p = hi - softplus(z)``.

Every value of ``z`` gives a feasible ``p``, so the bound holds exactly at every step. The
price: an optimum on the bound sits at ``z = -inf`` where the map is flat, so an active
bound is approached only asymptotically (docs/constraints.md compares this with the
barrier). The transform is registered with ``torch.nn.utils.parametrize`` on the model's
``params`` ParameterDict, so ``model.scalars()`` returns bounded values; after training
:func:`bake` replaces it by a plain parameter holding the final value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..declare.bounds import Inequality


class BoundedMap(nn.Module):
    """``p = f(z)`` mapping the real line into ``[lower, upper]`` (either side may be open)."""

    def __init__(self, lower: float | None, upper: float | None) -> None:
        super().__init__()
        if lower is None and upper is None:
            raise ValueError("BoundedMap needs at least one limit")
        self.lower = lower
        self.upper = upper

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        lo, hi = self.lower, self.upper
        if lo is not None and hi is not None:
            return lo + (hi - lo) * torch.sigmoid(z)
        if lo is not None:
            return lo + nn.functional.softplus(z)
        assert hi is not None
        return hi - nn.functional.softplus(z)

    def right_inverse(self, p: torch.Tensor) -> torch.Tensor:
        """The ``z`` giving ``p`` (``p`` strictly inside the limits)."""
        lo, hi = self.lower, self.upper
        if lo is not None and hi is not None:
            s = (p - lo) / (hi - lo)
            return torch.log(s) - torch.log1p(-s)
        y = p - lo if lo is not None else hi - p  # type: ignore[operator]
        return y + torch.log(-torch.expm1(-y))  # inverse softplus, stable for small and large y

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}"


def exact_limits(
    inequalities: Sequence[Inequality], method: str
) -> dict[str, tuple[float | None, float | None]]:
    """``{parameter: (lower, upper)}`` of the parameter bounds enforced with ``method``."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for q in inequalities:
        if q.bound.method != method or q.parameter is None:
            continue
        lo, hi = out.get(q.parameter, (None, None))
        if q.side == "lower":
            lo = q.limit if lo is None else max(lo, q.limit)  # type: ignore[type-var]
        else:
            hi = q.limit if hi is None else min(hi, q.limit)  # type: ignore[type-var]
        out[q.parameter] = (lo, hi)
    return out


def reparameterize(model: nn.Module, limits: Mapping[str, tuple[float | None, float | None]]) -> None:
    """Register the bounded maps on ``model.params`` (the parameters must be strictly inside)."""
    for name, (lo, hi) in limits.items():
        parametrize.register_parametrization(model.params, name, BoundedMap(lo, hi))


def bake(model: nn.Module) -> None:
    """Replace every registered map by a plain parameter holding its current value."""
    params = getattr(model, "params", None)
    if params is None or not parametrize.is_parametrized(params):
        return
    for name in list(params.parametrizations.keys()):
        parametrize.remove_parametrizations(params, name, leave_parametrized=True)
