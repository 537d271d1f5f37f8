"""The divergence guard: recover from NaN/Inf by restoring the last good state.

At every check point the trainer tests the losses recorded since the previous check, the
current parameters and (when gradients are clipped) an on-device flag of non-finite
gradient norms; that is one host synchronization per check point and none per step. A
non-finite value restores the state of the last clean check point (model, optimizer,
schedules, batching, stopping state, history), multiplies the phase's learning rate by
``factor`` and retries, at most ``max_retries`` times over the run; after that the run stops
with :attr:`~pinnopt.stop.StopReason.DIVERGED`, at the restored, finite state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class DivergenceGuard:
    """How to react to a NaN or Inf in the loss, the gradients or the parameters.

    Args:
        max_retries: restores (each with a lower learning rate) before giving up; 0 stops at
            the first divergence, after restoring the last finite state.
        factor: learning-rate multiplier applied at each retry (it lasts until the phase ends).
    """

    max_retries: int = 3
    factor: float = 0.5

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ConfigError(f"DivergenceGuard(max_retries={self.max_retries!r}): expected an int >= 0")
        f = self.factor
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f < 1.0:
            raise ConfigError(f"DivergenceGuard(factor={f!r}): expected a number in (0, 1)")
