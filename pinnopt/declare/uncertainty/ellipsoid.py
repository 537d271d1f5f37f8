"""The ellipsoidal uncertainty set: correlated coefficients."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ...errors import ProblemError
from .sets import ArrayLike, UncertaintySet, _vector


@dataclass(frozen=True, eq=False, repr=False)
class Ellipsoid(UncertaintySet):
    """``{xi : (xi - center)^T shape^-1 (xi - center) <= radius^2}``.

    Args:
        center: the centre ``c`` (the nominal value).
        shape: a symmetric positive definite ``(n, n)`` matrix ``S`` (covariance-like); a
            number or a 1-D list is read as a diagonal.
        radius: ``r > 0``; with ``S`` a covariance of Gaussian errors, ``r^2`` is a
            chi-square quantile (e.g. ``r = 2.45`` covers 95 % in two dimensions).
    """

    center: ArrayLike
    shape: ArrayLike | Sequence[Sequence[float]] = 1.0
    radius: float = 1.0

    def __post_init__(self) -> None:
        c = _vector(self.center, "Ellipsoid center")
        n = c.size
        s = np.asarray(self.shape, dtype=np.float64)
        if s.ndim == 0:
            s = np.eye(n) * float(s)
        elif s.ndim == 1:
            if s.size != n:
                raise ProblemError(f"Ellipsoid: diagonal shape has {s.size} entries; expected {n}")
            s = np.diag(s)
        if s.shape != (n, n):
            raise ProblemError(f"Ellipsoid: shape matrix has shape {s.shape}; expected ({n}, {n})")
        if not np.isfinite(s).all():
            raise ProblemError("Ellipsoid: shape matrix contains NaN or Inf")
        if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(s).max()))):
            raise ProblemError("Ellipsoid: shape matrix S is not symmetric; expected S = S^T")
        lam, q = np.linalg.eigh(s)
        if lam.min() <= 1e-14 * max(1.0, float(lam.max())):
            raise ProblemError(
                f"Ellipsoid: shape matrix S is not positive definite (smallest eigenvalue {lam.min():.3g}); "
                "expected a symmetric positive definite matrix"
            )
        r = float(self.radius)
        if not (r > 0 and math.isfinite(r)):
            raise ProblemError(f"Ellipsoid: radius={self.radius!r}; expected a positive finite number")
        object.__setattr__(self, "_c", c)
        object.__setattr__(self, "_s", s)
        object.__setattr__(self, "_lam", lam)
        object.__setattr__(self, "_q", q)
        object.__setattr__(self, "_r", r)
        object.__setattr__(self, "_sinv", np.linalg.inv(s))
        object.__setattr__(self, "_root", q * np.sqrt(lam))

    @property
    def dim(self) -> int:
        return int(self._c.size)

    @property
    def nominal(self) -> np.ndarray:
        return self._c.copy()

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        half = self._r * np.sqrt(np.diag(self._s))
        return self._c - half, self._c + half

    def _contains(self, xi: np.ndarray, tol: float) -> np.ndarray:
        d = xi - self._c
        q = np.einsum("ki,ij,kj->k", d, self._sinv, d)
        return q <= self._r**2 * (1 + tol) + tol

    def project(self, xi: torch.Tensor) -> torch.Tensor:
        opts = {"dtype": xi.dtype, "device": xi.device}
        c = self._tensor("_c", xi.dtype, xi.device)
        q = self._tensor("_q", xi.dtype, xi.device)
        lam = self._tensor("_lam", xi.dtype, xi.device)
        w = (xi - c) @ q  # coordinates along the principal axes
        inside = (w * w / lam).sum(1) <= self._r**2
        # Outside: x = lam w / (lam + mu), mu >= 0 with sum lam w^2 / (lam + mu)^2 = r^2.
        lo = torch.zeros(xi.shape[0], **opts)
        hi = torch.sqrt((lam * w * w).sum(1)) / self._r + 1e-300
        for _ in range(80):
            mu = (lo + hi) / 2
            g = (lam * w * w / (lam + mu[:, None]) ** 2).sum(1)
            big = g > self._r**2
            lo = torch.where(big, mu, lo)
            hi = torch.where(big, hi, mu)
        proj = c + (lam * w / (lam + hi[:, None])) @ q.T
        return torch.where(inside[:, None], xi, proj)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        dev = generator.device
        g = torch.randn(n, self.dim, generator=generator, dtype=torch.float64, device=dev)
        direction = g / g.norm(dim=1, keepdim=True).clamp_min(1e-300)
        rad = torch.rand(n, 1, generator=generator, dtype=torch.float64, device=dev) ** (1.0 / self.dim)
        root = self._tensor("_root", torch.float64, dev)  # S = root root^T
        return self._tensor("_c", torch.float64, dev) + self._r * (rad * direction) @ root.T

    def n_vertices(self) -> int | None:
        return 2 if self.dim == 1 else None

    def vertices(self) -> np.ndarray | None:
        if self.dim != 1:
            return None
        lo, hi = self.bounds()
        return np.array([[lo[0]], [hi[0]]])

    def dense(self, n: int, generator: torch.Generator) -> np.ndarray:
        root = self._q * np.sqrt(self._lam)
        if self.dim == 1:
            lo, hi = self.bounds()
            return np.linspace(lo[0], hi[0], max(n, 2))[:, None]
        if self.dim == 2:
            rings = max(2, int(math.sqrt(n / 8)))
            per = max(8, n // rings)
            ang = np.linspace(0, 2 * np.pi, per, endpoint=False)
            circle = np.stack([np.cos(ang), np.sin(ang)], 1)
            unit = np.concatenate([circle * (k / rings) for k in range(1, rings + 1)] + [np.zeros((1, 2))])
            return self._c + self._r * unit @ root.T
        # Higher dimensions: half on the boundary (where convex losses peak), half inside.
        g = torch.randn(n, self.dim, generator=generator, dtype=torch.float64, device=generator.device)
        rad = torch.rand(n, 1, generator=generator, dtype=torch.float64, device=generator.device)
        rad[: n // 2] = 1.0
        unit = (g / g.norm(dim=1, keepdim=True) * rad ** (1.0 / self.dim)).cpu().numpy()
        axes = np.concatenate([np.eye(self.dim), -np.eye(self.dim)])
        return self._c + self._r * np.concatenate([axes, unit]) @ root.T

    def describe(self) -> str:
        return f"Ellipsoid(center={self._c.tolist()}, radius={self._r:g}, dim={self.dim})"
