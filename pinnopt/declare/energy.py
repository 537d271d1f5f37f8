"""Energy (variational) terms: a loss that is an integral over the domain.

``Energy(integrand)`` adds ``E[u] = integral over the domain of integrand(x, u, u', ...)``
to the objective, e.g. the Ritz energy ``u'**2 / 2 - f u`` of ``-u'' = f``. Minimizing an
energy instead of a squared residual matters for inequality-constrained problems such as
the obstacle problem ``u >= psi``: it is a variational inequality, and in the contact set
``-u'' - f != 0``, so a residual loss plus a barrier fights the barrier there and converges
to the wrong function; the energy plus a barrier converges to the constrained minimizer
(docs/constraints.md).

The integral is a weighted sum ``sum_i w_i integrand(x_i)`` over fixed points:

* ``quadrature="gauss"`` (default on intervals and boxes): tensor-product Gauss-Legendre
  with ``n`` points in total (``ceil(n ** (1 / dim))`` per axis);
* ``quadrature="mc"``: ``n`` uniform random interior points, ``w_i = |domain| / n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..domain import Domain, Interval, Product
from ..errors import ProblemError
from ..symbolic import CompiledExpression, SymbolContext
from ..symbolic.scalars import compile_scalar_safe

QUADRATURES = ("gauss", "mc")
WEIGHT_KEY = "quad_weight"
"""The per-point data key holding the quadrature weights."""


@dataclass(frozen=True)
class Energy:
    """An integral over the domain's interior, added to the objective.

    Args:
        integrand: a sympy expression in the coordinates, unknowns and their derivatives
            (``u.diff(x)**2 / 2 - f * u``).
        quadrature: ``"gauss"`` (intervals and boxes) or ``"mc"``.
        n: number of points (default: 128 per axis for gauss, the solver's interior count
            for mc).
        weight: the term's weight.
        name: the term's name (default ``"energy"``).
        measure: the domain's measure for ``"mc"`` on domains that do not know theirs.
    """

    integrand: Any
    quadrature: str = "gauss"
    n: int | None = None
    weight: float = 1.0
    name: str | None = None
    measure: float | None = None

    def __post_init__(self) -> None:
        label = f"Energy({self.integrand})"
        if self.quadrature not in QUADRATURES:
            raise ProblemError(
                f"{label}: quadrature={self.quadrature!r}; expected one of {list(QUADRATURES)}"
            )
        if self.n is not None and (not isinstance(self.n, (int, np.integer)) or self.n < 1):
            raise ProblemError(f"{label}: n={self.n!r}; expected an int >= 1")
        for attr in ("weight", "measure"):
            v = getattr(self, attr)
            if v is None:
                continue
            ok = isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
            if not ok or not (math.isfinite(float(v)) and float(v) > 0):
                raise ProblemError(f"{label}: {attr}={v!r}; expected a positive finite number")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ProblemError(f"{label}: name={self.name!r}; expected a non-empty string")


@dataclass(frozen=True)
class CompiledEnergy:
    """A declared energy with its compiled integrand, term name (also its point set's name)
    and the measure of the domain it integrates over."""

    name: str
    energy: Energy
    compiled: CompiledExpression
    measure: float


def compile_energies(items: Any, ctx: SymbolContext, domain: Domain | None) -> tuple[CompiledEnergy, ...]:
    """Check and compile declared energies; names are unique (``energy``, ``energy#2``...)."""
    if isinstance(items, Energy):
        items = (items,)
    out: list[CompiledEnergy] = []
    used: set[str] = set()
    for i, e in enumerate(items or ()):
        if not isinstance(e, Energy):
            raise ProblemError(f"energy {i} must be po.Energy(integrand), got {type(e).__name__}: {e!r}")
        what = f"energy {i} ({e.integrand})"
        c = compile_scalar_safe(e.integrand, ctx, what=what, require_unknown=True)
        name = e.name or "energy"
        k = 1
        base = name
        while name in used:
            k += 1
            name = f"{base}#{k}"
        used.add(name)
        if domain is None:
            raise ProblemError(f"{what}: an energy integrates over a domain; this problem has none")
        out.append(CompiledEnergy(name, e, c, domain_measure(domain, e.measure)))
    return tuple(out)


def box_axes(domain: Domain) -> list[tuple[float, float]] | None:
    """``[(lower, upper)]`` per axis for intervals and products of intervals, else None."""
    if isinstance(domain, Interval):
        return [(domain.lower, domain.upper)]
    if isinstance(domain, Product) and all(isinstance(f, Interval) for f in domain.factors):
        return [(f.lower, f.upper) for f in domain.factors]
    return None


def domain_measure(domain: Domain, given: float | None = None) -> float:
    """Length, area or volume of ``domain`` (boxes, or domains with a ``measure``), else ``given``."""
    if given is not None:
        return float(given)
    axes = box_axes(domain)
    if axes is not None:
        return float(np.prod([hi - lo for lo, hi in axes]))
    m = getattr(domain, "measure", None)
    if m is not None:
        return float(m() if callable(m) else m)
    raise ProblemError(f"the measure of {domain!r} is not known; give po.Energy(..., measure=...)")


def gauss_points(axes: Sequence[tuple[float, float]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product Gauss-Legendre points ``(N, dim)`` and weights ``(N,)`` on a box."""
    k = max(1, math.ceil(n ** (1.0 / len(axes)) - 1e-9))
    nodes, weights = np.polynomial.legendre.leggauss(k)
    xs, ws = [], []
    for lo, hi in axes:
        xs.append(0.5 * (hi - lo) * nodes + 0.5 * (hi + lo))
        ws.append(0.5 * (hi - lo) * weights)
    mesh = np.meshgrid(*xs, indexing="ij")
    wmesh = np.meshgrid(*ws, indexing="ij")
    pts = np.stack([m.reshape(-1) for m in mesh], axis=1)
    w = np.prod(np.stack([m.reshape(-1) for m in wmesh], axis=1), axis=1)
    return pts, w


