"""Collocation: how many points each region gets, and drawing them."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Collocation:
    """Numbers of collocation points (uniform random, drawn once before training).

    Args:
        interior: points for equations on the interior.
        boundary: points for each condition region without its own ``On(..., n=...)``.
    """

    interior: int = 2000
    boundary: int = 100

    def __post_init__(self) -> None:
        for name in ("interior", "boundary"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"Collocation({name}={v!r}): expected an int >= 1")
