"""Dense self-scaled quasi-Newton methods (SSBFGS, SSBroyden) with the strong Wolfe line search.

They keep the full inverse-Hessian approximation ``H`` (``n x n``, so for up to about
``10^4`` parameters) and share everything else with :class:`~pinnopt.train.lbfgs.LBFGSOptimizer`
(line search, tolerances, stop statuses). After an accepted step ``s = t d`` with gradient
change ``y`` (``y.s > 0``), from the old gradient ``g``:

* ``b = s^T H^-1 s / y.s = -t s.g / y.s`` (as ``H^-1 s = -t g``), ``h = y^T H y / y.s``,
  ``a = b h - 1 >= 0``, ``v = sqrt(y^T H y) (s / y.s - H y / y^T H y)``;
* ``H <- (1/tau) [H - H y y^T H / y^T H y + phi v v^T] + s s^T / y.s``.

SSBFGS (Al-Baali's self-scaled BFGS, as used for PINNs by Urban, Stefanou & Pons, 2025):
``phi = 1`` and ``tau = min(1, 1/b)``. SSBroyden: the same scaling in the restricted Broyden
class, ``phi = (1 - theta) / (1 + a theta)`` clipped to ``[0, 1]`` with
``theta = max(theta_-, min(theta_+, (1 - b) / b))``, ``theta_- = (rho_- - 1) / a``,
``theta_+ = 1 / rho_-``, ``rho_- = min(1, h (1 - c))``, ``c = sqrt(a / (1 + a))`` (Al-Baali's
interval; our simplification of the published SSBroyden scaling, which also adapts ``tau``
to ``theta``). Before the first update ``H = (y.s / y.y) I``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from ..errors import ConfigError
from .lbfgs import LBFGSOptimizer
from .runners import LBFGSRunner, RunnerContext

if TYPE_CHECKING:  # pragma: no cover
    from .second_order import SSBFGS


class SelfScaledOptimizer(LBFGSOptimizer):
    """Dense self-scaled BFGS (``method="bfgs"``) or Broyden (``method="broyden"``)."""

    def __init__(self, params: Sequence[torch.Tensor], *, method: str = "bfgs", **options: Any) -> None:
        super().__init__(params, history_size=1, **options)
        self.method = method
        self.H: torch.Tensor | None = None

    def _has_memory(self) -> bool:
        return self.H is not None

    def _reset_memory(self) -> None:
        super()._reset_memory()
        self.H = None

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        return -g if self.H is None else -(self.H @ g)

    def _update_memory(self, s: torch.Tensor, y: torch.Tensor, ys: float, g: torch.Tensor, t: float) -> None:
        if self.H is None:
            self.H = torch.eye(s.numel(), dtype=s.dtype, device=s.device) * (ys / float(y.dot(y)))
        H = self.H
        hy = H @ y
        yhy = float(y.dot(hy))
        if not yhy > 0:
            return
        b = -t * float(s.dot(g)) / ys
        h = yhy / ys
        a = max(b * h - 1.0, 0.0)
        tau = min(1.0, 1.0 / b) if b > 0 else 1.0
        phi = 1.0
        if self.method == "broyden" and a > 0 and b > 0:
            c = math.sqrt(a / (1.0 + a))
            rho_minus = min(1.0, h * (1.0 - c))
            theta_minus = (rho_minus - 1.0) / a
            theta_plus = 1.0 / rho_minus if rho_minus > 0 else math.inf
            theta = max(theta_minus, min(theta_plus, (1.0 - b) / b))
            phi = min(max((1.0 - theta) / (1.0 + a * theta), 0.0), 1.0)
        v = math.sqrt(yhy) * (s / ys - hy / yhy)
        H = (H - torch.outer(hy, hy) / yhy + phi * torch.outer(v, v)) / tau + torch.outer(s, s) / ys
        self.H = 0.5 * (H + H.T)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["H"] = None if self.H is None else self.H.clone()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.H = None if state.get("H") is None else state["H"].clone()


class QuasiNewtonRunner(LBFGSRunner):
    """Runs an :class:`~pinnopt.train.second_order.SSBFGS` / ``SSBroyden`` phase (one iteration per step)."""

    label = "quasi-Newton"

    def __init__(self, phase: SSBFGS, ctx: RunnerContext) -> None:
        n = sum(p.numel() for p in ctx.params)
        if n > phase.max_parameters:
            raise ConfigError(
                f"{phase.name}: the model has {n} trainable parameters, over max_parameters="
                f"{phase.max_parameters} (the dense inverse Hessian would need {n * n * 8 / 2**20:.0f} MiB); "
                "use po.optim.LBFGS or raise max_parameters"
            )
        super().__init__(phase, ctx)  # type: ignore[arg-type]
