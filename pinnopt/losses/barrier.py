"""Barrier functions and the barrier loss term for inequality constraints ``g >= 0``.

Two barriers, both written in terms of the slack ``g`` (``g >= 0`` is feasible) and a
barrier coefficient ``m > 0``:

* exponential: ``B = exp(m * v)`` with the violation ``v = -g``. For a lower bound
  ``beta >= k`` the slack is ``g = beta - k`` and ``B = exp(m (k - beta))``; for an upper
  bound ``beta <= k``, ``B = exp(m (beta - k))``. It is defined everywhere, so an infeasible
  start is fine. Past the exponent ``cap`` it continues linearly with matched value and
  slope, so the term and its gradient stay finite and non-zero however large ``m * v``
  gets (see :func:`capped_exp`).
* logarithmic: ``B = -ln(g) / m``; it needs a strictly feasible start. Below the slack
  ``floor`` it continues as its second-order Taylor polynomial (value, slope and curvature
  matched), so an infeasible iterate gives a large but finite penalty instead of NaN.

Either barrier moves an active optimum into the feasible side by about
``ln(m / |dJ|) / m`` (exponential) or ``1 / (m |dJ|)`` (logarithmic); docs/constraints.md
derives both.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..declare.barriers import DEFAULT_CAP, DEFAULT_FLOOR
from ..symbolic import CompiledExpression, Field
from ..symbolic.scalars import scalar_env
from .evaluation import Evaluation
from .terms import Term


def capped_exp(z: torch.Tensor, cap: float = DEFAULT_CAP) -> torch.Tensor:
    """``exp(z)`` for ``z <= cap``, ``exp(cap) * (1 + z - cap)`` beyond (value and slope match).

    The gradient is ``exp(min(z, cap))``: positive and finite for every finite ``z``. In
    float32 the value stays finite up to ``z`` of about ``3e38 / exp(cap)`` (7e29 for the
    default cap).
    """
    zc = torch.clamp(z, max=cap)
    return torch.exp(zc) * (1.0 + torch.relu(z - cap))


def log_barrier(g: torch.Tensor, m: torch.Tensor | float, floor: float = DEFAULT_FLOOR) -> torch.Tensor:
    """``-ln(g) / m`` for ``g >= floor``; below, the Taylor quadratic of that function at ``floor``."""
    gs = torch.clamp(g, min=floor)
    d = torch.clamp(g - floor, max=0.0)
    ext = -d / floor + 0.5 * (d / floor) ** 2
    return (-torch.log(gs) + ext) / m


class BarrierTerm(Term):
    """Barrier loss of one inequality ``g >= 0`` (a parameter bound or a field bound).

    Args:
        name: the term's name (``"bound:k>=0.1"``).
        slack: the compiled slack ``g``; parameter bounds read only ``ev.scalars``.
        point_set: the point set of a field bound, None for a parameter bound.
        m: the barrier coefficient (training state: raised by a continuation hook, saved
            in :meth:`state_dict`).
        kind: ``"exp"`` or ``"log"``.
        reduce: how a field bound combines its points: ``"mean"`` or ``"max"``.
        cap: exponent cap of the exponential barrier.
        floor: slack floor of the log barrier.
        weight: the term's weight in the objective.
    """

    def __init__(
        self,
        name: str,
        slack: CompiledExpression,
        point_set: str | None,
        m: float,
        *,
        kind: str = "exp",
        reduce: str = "mean",
        cap: float = DEFAULT_CAP,
        floor: float = DEFAULT_FLOOR,
        weight: float = 1.0,
    ) -> None:
        self.name = name
        self.slack = slack
        self.point_set = point_set
        self.kind = kind
        self.reduce = reduce
        self.cap = float(cap)
        self.floor = float(floor)
        self.weight = float(weight)
        self.m = torch.tensor(float(m), dtype=torch.float64)

    @property
    def fields(self) -> frozenset[Field]:
        return self.slack.fields

    @property
    def m_value(self) -> float:
        """The current barrier coefficient as a float (synchronizes with the device)."""
        return float(self.m)

    def set_m(self, value: float) -> None:
        """Set the barrier coefficient in place (no host synchronization)."""
        self.m.fill_(float(value))

    def slack_values(self, ev: Evaluation) -> torch.Tensor:
        """The slack ``g``: 0-d for a parameter bound, ``(N,)`` on the points of a field bound."""
        if self.point_set is None:
            return self.slack(scalar_env(ev.scalars))
        return self.slack(ev.env(self.point_set))

    def barrier(self, g: torch.Tensor) -> torch.Tensor:
        """The pointwise barrier of slack values ``g``."""
        if self.m.dtype != g.dtype or self.m.device != g.device:
            self.m = self.m.to(dtype=g.dtype, device=g.device)
        if self.kind == "log":
            return log_barrier(g, self.m, self.floor)
        return capped_exp(-self.m * g, self.cap)

    def loss(self, ev: Evaluation) -> torch.Tensor:
        b = self.barrier(self.slack_values(ev))
        if b.dim() == 0:
            return b
        return torch.amax(b) if self.reduce == "max" else torch.mean(b)

    def multiplier(self, g: float) -> float:
        """The Lagrange multiplier the barrier exerts at slack ``g``: ``weight * |dB/dg|``."""
        m = self.m_value
        if self.kind == "log":
            return self.weight / (m * max(g, self.floor))
        z = -m * g
        return self.weight * m * math.exp(min(z, self.cap))

    def state_dict(self) -> dict[str, Any]:
        return {"m": self.m.detach().to("cpu", torch.float64).clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "m" in state:
            self.m = torch.as_tensor(state["m"]).to(dtype=self.m.dtype, device=self.m.device).clone()

    def __repr__(self) -> str:
        return f"BarrierTerm({self.name!r}, {self.kind}, m={self.m_value:g}, weight={self.weight:g})"
