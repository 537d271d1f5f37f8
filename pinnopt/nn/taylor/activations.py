"""Derivatives of elementwise activations, as closed forms evaluated once per layer.

An :class:`ActivationRule` returns :class:`Derivatives`: the activation's value and its
derivatives up to order ``n`` in a factored form ``s^(k) = factor * scale_k * tensor_k``,
where ``factor`` is shared by every order (``1 - tanh^2`` for tanh) and a missing tensor
means the constant 1. Keeping the shared factor and the constants apart lets the engine apply
them once per channel instead of once per term.

Rules are found through :func:`default_rules`, a table from the exact module class to a
factory that reads the module's settings and returns a rule, or ``None`` when those settings
are not supported (the engine then falls back to autograd). Pass an extended copy of the
table to :class:`~pinnopt.nn.taylor.engine.TaylorEngine` to support more activations.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional

from ..activations import ACTIVATIONS

Poly = tuple[Fraction, ...]
"""Polynomial coefficients, constant term first."""


@dataclass(frozen=True)
class Coefficient:
    """``scale * tensor`` (``tensor=None``: the constant ``scale``)."""

    tensor: torch.Tensor | None
    scale: float = 1.0

    def full(self, like: torch.Tensor) -> torch.Tensor:
        """The coefficient as a tensor shaped like ``like``."""
        if self.tensor is None:
            return torch.full_like(like, self.scale)
        return self.tensor if self.scale == 1.0 else self.tensor * self.scale


@dataclass(frozen=True)
class Derivatives:
    """``s(z)`` and ``s^(k)(z) = factor(orders[k-1])`` for ``k = 1..n`` (``None``: zero).

    ``factor`` multiplies a tensor by the part shared by every order (``None``: by 1); it is
    a function so that rules can use fused kernels, e.g. ``tanh_backward(x, t) = x (1 - t^2)``.
    """

    value: torch.Tensor
    factor: Callable[[torch.Tensor], torch.Tensor] | None
    orders: tuple[Coefficient | None, ...]

    def derivative(self, k: int) -> torch.Tensor | None:
        """``s^(k)(z)`` as one tensor (``k = 0`` gives the value); for tests and fallbacks."""
        if k == 0:
            return self.value
        c = self.orders[k - 1]
        if c is None:
            return None
        full = c.full(self.value)
        return full if self.factor is None else self.factor(full)


def _poly_derivative(p: Sequence[Fraction]) -> list[Fraction]:
    return [k * c for k, c in enumerate(p)][1:] or [Fraction(0)]


def _poly_add(p: Sequence[Fraction], q: Sequence[Fraction]) -> list[Fraction]:
    n = max(len(p), len(q))
    return [(p[i] if i < len(p) else 0) + (q[i] if i < len(q) else 0) for i in range(n)]


def _poly_mul(p: Sequence[Fraction], q: Sequence[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def _trim(p: Sequence[Fraction]) -> Poly:
    p = list(p)
    while len(p) > 1 and p[-1] == 0:
        p.pop()
    return tuple(p)


def tanh_polynomials(n: int) -> list[Poly]:
    """``Q_k`` with ``tanh^(k)(z) = (1 - t^2) Q_k(t)``, ``t = tanh z``, for ``k = 1..n``.

    ``Q_1 = 1`` and ``Q_{k+1} = -2 t Q_k + (1 - t^2) Q_k'``.
    """
    polys: list[Poly] = [(Fraction(1),)] if n >= 1 else []
    for _ in range(1, n):
        q = polys[-1]
        nxt = _poly_add(_poly_mul([Fraction(0), Fraction(-2)], q), _poly_mul([1, 0, -1], _poly_derivative(q)))
        polys.append(_trim(nxt))
    return polys


def hermite_polynomials(n: int) -> list[Poly]:
    """Probabilists' Hermite ``He_0..He_n``: ``He_{k+1} = z He_k - k He_{k-1}``."""
    polys: list[list[Fraction]] = [[Fraction(1)], [Fraction(0), Fraction(1)]]
    for k in range(1, n):
        nxt = [Fraction(0), *polys[k]]
        for i, c in enumerate(polys[k - 1]):
            nxt[i] -= k * c
        polys.append(nxt)
    return [tuple(p) for p in polys[: n + 1]]


class _Powers:
    """``t`` and, computed on first use, ``t^2``."""

    def __init__(self, t: torch.Tensor) -> None:
        self.t = t
        self._t2: torch.Tensor | None = None

    @property
    def t2(self) -> torch.Tensor:
        if self._t2 is None:
            self._t2 = self.t * self.t
        return self._t2


def _parity_poly(p: Poly, powers: _Powers, scale: float = 1.0) -> Coefficient:
    """``scale * p(t)`` for ``p`` with only even or only odd powers, as monic Horner in ``t^2``."""
    p = _trim(p)
    odd = len(p) % 2 == 0
    coeffs = [float(c) for c in (p[1::2] if odd else p[0::2])]
    lead = coeffs[-1]
    if lead == 0.0:
        return Coefficient(None, 0.0)
    monic = [c / lead for c in coeffs]
    acc: torch.Tensor | None = None
    for i in range(len(monic) - 2, -1, -1):
        acc = powers.t2 if acc is None else acc * powers.t2
        if monic[i] != 0.0:
            acc = acc + monic[i]
    if odd:
        acc = powers.t if acc is None else acc * powers.t
    return Coefficient(acc, lead * scale)


class ActivationRule(abc.ABC):
    """The value and the first ``n`` derivatives of an elementwise activation."""

    @abc.abstractmethod
    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        """Value and derivatives of orders ``1..n`` at ``z``."""


def _tanh_family(
    t: torch.Tensor, n: int, value: torch.Tensor, inner: float = 1.0, outer: float = 1.0
) -> Derivatives:
    """Derivatives of ``outer * tanh(inner * z)`` given ``t = tanh(inner * z)``."""
    if n == 0:
        return Derivatives(value, None, ())

    def factor(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.tanh_backward(x, t)  # x * (1 - t^2), one fused kernel

    powers = _Powers(t)
    polys = tanh_polynomials(n)
    orders = tuple(_parity_poly(polys[k - 1], powers, outer * inner**k) for k in range(1, n + 1))
    return Derivatives(value, factor, orders)


class TanhRule(ActivationRule):
    """tanh: ``tanh^(k) = (1 - t^2) Q_k(t)`` with ``Q_k`` even or odd polynomials."""

    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        t = torch.tanh(z)
        return _tanh_family(t, n, t)


class SigmoidRule(ActivationRule):
    """sigmoid, through ``sigmoid(z) = (1 + tanh(z / 2)) / 2``."""

    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        value = torch.sigmoid(z)
        if n == 0:
            return Derivatives(value, None, ())
        return _tanh_family(torch.tanh(z * 0.5), n, value, inner=0.5, outer=0.5)


def _sigmoid_derivatives(z: torch.Tensor, n: int, beta: float = 1.0) -> list[torch.Tensor]:
    """``d^k/dz^k sigmoid(beta z)`` for ``k = 0..n``, each as one tensor."""
    value = torch.sigmoid(z * beta) if beta != 1.0 else torch.sigmoid(z)
    if n == 0:
        return [value]
    d = _tanh_family(torch.tanh(z * (beta / 2)), n, value, inner=beta / 2, outer=0.5)
    return [value, *(d.derivative(k) for k in range(1, n + 1))]  # type: ignore[list-item]


class SinRule(ActivationRule):
    """sin: the derivatives cycle through cos, -sin, -cos, sin (signs kept as scales)."""

    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        s = torch.sin(z)
        if n == 0:
            return Derivatives(s, None, ())
        c = torch.cos(z)
        cycle = [Coefficient(s), Coefficient(c), Coefficient(s, -1.0), Coefficient(c, -1.0)]
        return Derivatives(s, None, tuple(cycle[k % 4] for k in range(1, n + 1)))


class SoftplusRule(ActivationRule):
    """softplus with torch's ``beta`` and linear ``threshold`` region (derivatives 1, 0, 0, ...)."""

    def __init__(self, beta: float, threshold: float) -> None:
        self.beta = float(beta)
        self.threshold = float(threshold)

    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        value = functional.softplus(z, beta=self.beta, threshold=self.threshold)
        if n == 0:
            return Derivatives(value, None, ())
        linear = z * self.beta > self.threshold
        sig = _sigmoid_derivatives(z, n - 1, self.beta)
        orders = [Coefficient(torch.where(linear, 1.0, sig[0]))]
        orders += [Coefficient(torch.where(linear, 0.0, d)) for d in sig[1:]]
        return Derivatives(value, None, tuple(orders))


class SiLURule(ActivationRule):
    """silu ``z sigmoid(z)``: ``s^(k) = z sigmoid^(k) + k sigmoid^(k-1)``."""

    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        sig = _sigmoid_derivatives(z, n)
        orders = tuple(Coefficient(torch.addcmul(sig[k - 1] * k, z, sig[k])) for k in range(1, n + 1))
        return Derivatives(z * sig[0], None, orders)


class GELURule(ActivationRule):
    """Exact (erf) GELU ``z Phi(z)``: ``s^(k) = (-1)^k phi(z) (He_{k-2} - He_k)(z)`` for ``k >= 2``."""

    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        value = functional.gelu(z)
        if n == 0:
            return Derivatives(value, None, ())
        phi = torch.exp(z * z * -0.5) * (1 / math.sqrt(2 * math.pi))
        cdf = (torch.erf(z * (1 / math.sqrt(2))) + 1) * 0.5
        orders = [Coefficient(torch.addcmul(cdf, z, phi))]
        he = hermite_polynomials(n)
        powers = _Powers(z)
        for k in range(2, n + 1):
            p = _poly_add(he[k - 2], [-c for c in he[k]])
            c = _parity_poly(tuple(p), powers, (-1.0) ** k)
            orders.append(Coefficient(phi if c.tensor is None else c.tensor * phi, c.scale))
        return Derivatives(value, None, tuple(orders))


class ReLURule(ActivationRule):
    """ReLU: the step function, then zero (as autograd computes it, 0 at ``z = 0``)."""

    def derivatives(self, z: torch.Tensor, n: int) -> Derivatives:
        value = torch.relu(z)
        if n == 0:
            return Derivatives(value, None, ())
        return Derivatives(value, None, (Coefficient((z > 0).to(z.dtype)), *([None] * (n - 1))))


RuleFactory = Callable[[nn.Module], ActivationRule | None]


def _gelu(module: nn.Module) -> ActivationRule | None:
    return GELURule() if getattr(module, "approximate", "none") == "none" else None


def _softplus(module: nn.Module) -> ActivationRule | None:
    return SoftplusRule(module.beta, module.threshold)  # type: ignore[arg-type]


def default_rules() -> dict[type[nn.Module], RuleFactory]:
    """A fresh copy of the built-in table (exact module class -> rule factory)."""
    return {
        nn.Tanh: lambda m: TanhRule(),
        ACTIVATIONS["sin"]: lambda m: SinRule(),  # type: ignore[dict-item]
        nn.Sigmoid: lambda m: SigmoidRule(),
        nn.Softplus: _softplus,
        nn.SiLU: lambda m: SiLURule(),
        nn.GELU: _gelu,
        nn.ReLU: lambda m: ReLURule(),
    }
