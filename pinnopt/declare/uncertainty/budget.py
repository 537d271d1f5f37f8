"""The budgeted uncertainty set of Bertsimas and Sim: tunable conservativeness."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from ...errors import ProblemError
from .sets import ArrayLike, UncertaintySet, _vector


@dataclass(frozen=True, eq=False, repr=False)
class Budget(UncertaintySet):
    """Bertsimas-Sim budgeted set: at most ``gamma`` coefficients at their extremes.

    ``xi = center + deviation * z`` with ``|z_i| <= 1`` and ``sum_i |z_i| <= gamma``.
    ``gamma = 0`` is the nominal point, ``gamma = n`` the full box
    ``[center - deviation, center + deviation]``; a fractional ``gamma = k + f`` lets ``k``
    coefficients reach their extremes and one more move a fraction ``f`` of its range.

    Args:
        center: nominal values ``c``.
        deviation: half-widths ``d >= 0``, same length.
        gamma: the budget, in ``[0, n]``.
    """

    center: ArrayLike
    deviation: ArrayLike
    gamma: float

    def __post_init__(self) -> None:
        c = _vector(self.center, "Budget center")
        d = _vector(self.deviation, "Budget deviation")
        if c.shape != d.shape:
            raise ProblemError(
                f"Budget: center has {c.size} entries but deviation has {d.size}; expected equal"
            )
        if (d < 0).any():
            i = int(np.nonzero(d < 0)[0][0])
            raise ProblemError(f"Budget: deviation[{i}] = {d[i]:g} < 0; expected half-widths >= 0")
        g = float(self.gamma)
        if not (0 <= g <= c.size) or not math.isfinite(g):
            raise ProblemError(
                f"Budget: gamma={self.gamma!r} is outside [0, {c.size}] (n = {c.size} coefficients)"
            )
        object.__setattr__(self, "_c", c)
        object.__setattr__(self, "_d", d)
        object.__setattr__(self, "_g", g)

    @property
    def dim(self) -> int:
        return int(self._c.size)

    @property
    def nominal(self) -> np.ndarray:
        return self._c.copy()

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        half = self._d * min(1.0, self._g)
        return self._c - half, self._c + half

    def _z(self, xi: np.ndarray) -> np.ndarray:
        dev = xi - self._c
        safe = np.where(self._d > 0, self._d, 1.0)
        return np.where(self._d > 0, dev / safe, np.where(np.abs(dev) > 0, np.inf, 0.0))

    def _contains(self, xi: np.ndarray, tol: float) -> np.ndarray:
        z = np.abs(self._z(xi))
        return np.all(z <= 1 + tol, axis=1) & (z.sum(1) <= self._g + tol * max(1.0, self._g))

    def project(self, xi: torch.Tensor) -> torch.Tensor:
        opts = {"dtype": xi.dtype, "device": xi.device}
        c = self._tensor("_c", xi.dtype, xi.device)
        d = self._tensor("_d", xi.dtype, xi.device)
        v = xi - c
        a = v.abs()
        active = d > 0
        safe = torch.where(active, d, torch.ones_like(d))

        def moved(lam: torch.Tensor) -> torch.Tensor:  # |x_i - c_i| for multiplier lam
            t = torch.minimum((a - lam[:, None] / safe).clamp_min(0), d)
            return torch.where(active, t, torch.zeros_like(t))

        lo = torch.zeros(xi.shape[0], **opts)
        hi = (a * d).amax(1) + 1e-300
        need = (moved(lo) / safe).sum(1) > self._g
        for _ in range(80):
            mid = (lo + hi) / 2
            over = (moved(mid) / safe).sum(1) > self._g
            lo = torch.where(over, mid, lo)
            hi = torch.where(over, hi, mid)
        lam = torch.where(need, hi, torch.zeros_like(hi))
        return c + torch.sign(v) * moved(lam)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Points of the set, not uniformly distributed: uniform in the box of ``z``, shrunk
        towards the centre onto the budget face when they exceed it."""
        dev = generator.device
        z = 2 * torch.rand(n, self.dim, generator=generator, dtype=torch.float64, device=dev) - 1
        l1 = z.abs().sum(1, keepdim=True)
        z = torch.where(l1 > self._g, z * (self._g / l1.clamp_min(1e-300)), z)
        return self._tensor("_c", torch.float64, dev) + self._tensor("_d", torch.float64, dev) * z

    def n_vertices(self) -> int:
        n = int(np.sum(self._d > 0))  # coefficients that can move
        g = min(self._g, n)
        if g >= n:
            return 2**n
        k = math.floor(g + 1e-12)
        if g - k <= 1e-12:
            return math.comb(n, k) * 2**k
        return math.comb(n, k) * (n - k) * 2 ** (k + 1)

    def vertices(self) -> np.ndarray:
        """``k = floor(gamma)`` coefficients at an extreme, one more at a fraction ``gamma - k``
        of its range (when gamma is fractional), the rest nominal; all sign patterns."""
        active = np.nonzero(self._d > 0)[0]
        n = len(active)
        g = min(self._g, n)
        if g >= n:
            zs = np.array(list(itertools.product((-1.0, 1.0), repeat=n))).reshape(-1, n)
        else:
            k = math.floor(g + 1e-12)
            frac = g - k
            rows = []
            for full in itertools.combinations(range(n), k):
                rest = [i for i in range(n) if i not in full] if frac > 1e-12 else [None]
                for part in rest:
                    idx = [*full] + ([part] if part is not None else [])
                    mags = [1.0] * k + ([frac] if part is not None else [])
                    for signs in itertools.product((-1.0, 1.0), repeat=len(idx)):
                        z = np.zeros(n)
                        z[idx] = np.array(signs) * np.array(mags)
                        rows.append(z)
            zs = np.array(rows) if rows else np.zeros((1, n))
        full_z = np.zeros((len(zs), self.dim))
        full_z[:, active] = zs
        return self._c + self._d * full_z

    def describe(self) -> str:
        return f"Budget(center={self._c.tolist()}, deviation={self._d.tolist()}, gamma={self._g:g})"
