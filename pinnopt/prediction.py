"""What :meth:`pinnopt.Result.predict` returns, and the check of points against the domain."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .domain import Domain

log = logging.getLogger("pinnopt")


class Prediction(dict):  # type: ignore[type-arg]
    """What :meth:`Result.predict` returns: ``{name: (N,) float64 array}``.

    A plain dict keyed by unknown names and readable derivative names (``u_x``,
    ``theta_tt``); the requested sympy expression (``u.diff(x)``) and its ``str`` also work
    as keys.

    Attributes:
        outside: how many of the points lie outside the problem's domain (a warning was
            logged when any did).
    """

    def __init__(
        self, values: Mapping[str, np.ndarray], aliases: Mapping[Any, str], outside: int = 0
    ) -> None:
        super().__init__(values)
        self.aliases = dict(aliases)
        self.outside = outside

    def __missing__(self, key: Any) -> np.ndarray:
        try:
            name = self.aliases[key]
        except (KeyError, TypeError):
            raise KeyError(key) from None
        return self[name]

    def __contains__(self, key: object) -> bool:
        try:
            return super().__contains__(key) or key in self.aliases
        except TypeError:
            return False

    def get(self, key: Any, default: Any = None) -> Any:
        """``self[key]`` (any accepted key), or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default


def count_outside(
    x: torch.Tensor, domain: Domain | None, bounds: Sequence[Sequence[float]] | None = None
) -> int:
    """How many of the ``(N, dim)`` points ``x`` lie outside ``domain`` (else outside the box
    ``bounds = (lower, upper)``; 0 when neither is known); logs a warning when any do.

    Points on the boundary count as inside (relative tolerance 1e-9 of the domain's extent).
    """
    pts = x.detach().cpu().double()
    if domain is not None:
        lower, upper = domain.bounds
        scale = max([1.0, *(abs(float(v)) for v in (*lower, *upper))])
        n = int((~domain.contains(pts, tol=1e-9 * scale)).sum())
        where = "the domain"
    elif bounds:
        lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in bounds)
        tol = 1e-9 * max(1.0, float(torch.cat([lo.abs(), hi.abs()]).max()))
        n = int((~((pts >= lo - tol) & (pts <= hi + tol)).all(dim=1)).sum())
        where = "the domain's bounding box"
    else:
        return 0
    if n:
        log.warning(
            "predict: %d of %d points lie outside %s; the network extrapolates there", n, len(pts), where
        )
    return n
