"""Activation kernels of the fused Taylor node: the value and the derivatives it needs.

A kernel writes ``s(z)`` into the layer's buffer and returns ``s', s'', ...`` on the
derivative columns; the backward scales the value gradient by ``s'`` in place. tanh and
sigmoid have a dedicated kernel (the derivatives are polynomials in ``t = tanh``, formed in
reusable buffers); any other :class:`~.activations.ActivationRule` goes through its closed
forms.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .activations import ActivationRule, SigmoidRule, TanhRule, tanh_polynomials

New = Callable[[Sequence[int], torch.Tensor], torch.Tensor]
"""``new(shape, like)``: an uninitialized buffer (from the node's arena)."""


def tanh_into(z: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``tanh(z)`` written into ``out``. On CPUs as ``2 sigmoid(2 z) - 1``: torch's CPU tanh was
    measured 3.5x (float32) and 5x (float64) slower than sigmoid on one thread; the identity
    is exact up to one rounding of the result (absolute error ~1e-16 in float64)."""
    if z.device.type != "cpu":
        return torch.tanh(z, out=out)
    torch.mul(z, 2.0, out=out)
    torch.sigmoid(out, out=out)
    return out.mul_(2.0).sub_(1.0)


_ONES: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}


def _one(like: torch.Tensor) -> torch.Tensor:
    """A 0-d one of ``like``'s dtype and device (cached: never written to)."""
    key = (like.dtype, like.device)
    one = _ONES.get(key)
    if one is None:
        one = _ONES[key] = torch.ones((), dtype=like.dtype, device=like.device)
    return one


def _tanh_derivatives(t: torch.Tensor, top: int, new: New) -> tuple[list[torch.Tensor | None], list[float]]:
    """``tanh^(k) = scale[k] s[k]`` for ``k = 1..min(top, 5)`` from ``t = tanh``, with
    ``b = 1 - t^2``: ``b``, ``-2 t b``, ``4 (b - 3/2 b^2)``, ``-8 t (b - 3 b^2)`` and
    ``16 (b - 15/2 b^2 + 15/2 b^3)``; one pass each: with ``t^2 = 1 - b`` the last two are
    ``-8 (t b - 3 b (t b))`` and ``16 (b - 15/2 (t b)^2)`` (a Horner scheme in ``t^2`` takes
    two to four)."""
    shape = t.shape
    b = torch.addcmul(_one(t), t, t, value=-1.0, out=new(shape, t))
    s: list[torch.Tensor | None] = [None, b]
    scale = [1.0, 1.0]
    if top >= 2:
        s.append(torch.mul(b, t, out=new(shape, t)))
        scale.append(-2.0)
    if top >= 3:
        s.append(torch.addcmul(b, b, b, value=-1.5, out=new(shape, t)))
        scale.append(4.0)
    if top >= 4:  # t b (1 - 3 b) = s[2] - 3 b s[2]
        s.append(torch.addcmul(s[2], b, s[2], value=-3.0, out=new(shape, t)))  # type: ignore[arg-type]
        scale.append(-8.0)
    if top >= 5:  # b - 15/2 b^2 (1 - b) = b - 15/2 (t b)^2 = b - 15/2 s[2]^2
        s.append(torch.addcmul(b, s[2], s[2], value=-7.5, out=new(shape, t)))  # type: ignore[arg-type]
        scale.append(16.0)
    return s, scale


class Kernel:
    """The activation on all value columns and its derivatives ``s^(1..top)`` on the first ``nd``."""

    def value_scale(self, like: torch.Tensor) -> float:
        """The factor the caller multiplies the pre-activation values by before :meth:`forward`
        (folded into the layer's product: exact when it is a power of two)."""
        return 1.0

    def forward(
        self, z: torch.Tensor, nd: int, out: torch.Tensor, top: int, new: New
    ) -> tuple[list[torch.Tensor | None], list[float], Any]:
        """Write ``s(z / value_scale)`` into ``out`` (``z``: the scaled pre-activation values, bias
        included; it may be overwritten); return ``(s, scale, saved)`` with ``s^(k) = scale[k] s[k]``
        on the first ``nd`` columns for ``k = 1..top`` (``s[0]`` unused, ``scale[1] = 1``,
        ``None``: zero)."""
        raise NotImplementedError

    def value_backward(self, grad: torch.Tensor, nd: int, saved: Any) -> None:
        """``grad *= s'(z)`` in place on all value columns."""
        raise NotImplementedError


@functools.lru_cache(maxsize=8)
def _horner(n: int, inner: float, outer: float) -> tuple[tuple[bool, tuple[float, ...]], ...]:
    """For ``k = 1..n``: ``(odd, c)`` with ``s^(k) / (1 - t^2) = t^odd * sum_i c_i (t^2)^i``."""
    out = []
    for k, poly in enumerate(tanh_polynomials(n), 1):
        odd = len(poly) % 2 == 0
        scale = outer * inner**k
        out.append((odd, tuple(float(c) * scale for c in (poly[1::2] if odd else poly[0::2]))))
    return tuple(out)


class _TanhKernel(Kernel):
    """``s = outer * tanh(inner z) + shift``: tanh (1, 1, 0) or sigmoid (1/2, 1/2, 1/2);
    ``s^(k) = outer inner^k tanh^(k)(inner z)``, a polynomial in ``t = tanh(inner z)`` and
    ``b = 1 - t^2`` (see :func:`_tanh_derivatives`)."""

    def __init__(self, inner: float = 1.0, outer: float = 1.0, shift: float = 0.0) -> None:
        self.inner, self.outer, self.shift = inner, outer, shift

    def value_scale(self, like: torch.Tensor) -> float:
        # tanh(z) = 2 sigmoid(2 z) - 1 on CPUs (see tanh_into), 2 z formed by the product
        return 2.0 if self.inner == 1.0 and like.is_cpu else 1.0

    def forward(
        self, z: torch.Tensor, nd: int, out: torch.Tensor, top: int, new: New
    ) -> tuple[list[torch.Tensor | None], list[float], Any]:
        if self.inner == 1.0 and z.is_cpu:  # z = 2 (W a + b): tanh in two passes
            torch.sigmoid(z, out=out)
            t_all = out.lerp_(_one(out), -1.0)  # 1 - 2 (1 - s) = 2 s - 1
        elif self.inner == 1.0:
            t_all = torch.tanh(z, out=out)
        else:
            t_all = torch.mul(z, self.inner, out=new(z.shape, z))
            tanh_into(t_all, t_all)
            torch.add(t_all, self.shift / self.outer, out=out).mul_(self.outer)
        t = t_all[:, :nd]
        if top > 5:  # not reached by the fused node (orders <= 4); kept general
            return (*self._horner_forward(t, top, new), t_all)
        s, scale = _tanh_derivatives(t, top, new)
        for k in range(1, len(s)):
            scale[k] *= self.outer * self.inner**k
        if scale[1] != 1.0:  # s' itself is used unscaled
            s[1] = torch.mul(s[1], scale[1], out=new(t.shape, t))  # type: ignore[arg-type]
            scale[1] = 1.0
        return s, scale, t_all

    def _horner_forward(
        self, t: torch.Tensor, top: int, new: New
    ) -> tuple[list[torch.Tensor | None], list[float]]:
        shape = t.shape
        base = torch.addcmul(_one(t), t, t, value=-1.0, out=new(shape, t))
        t2 = torch.mul(t, t, out=new(shape, t)) if top > 2 else None
        s: list[torch.Tensor | None] = [None]
        scale = [1.0]
        for k, (odd, c) in enumerate(_horner(top, self.inner, self.outer), 1):
            lead = c[-1]  # monic Horner in t^2; the leading coefficient is kept apart
            if len(c) == 1 and not odd:
                if k == 1 and lead != 1.0:  # s' itself is used unscaled
                    s.append(torch.mul(base, lead, out=new(shape, t)))
                    lead = 1.0
                else:
                    s.append(base)
            elif len(c) == 1:  # lead * t * base
                s.append(torch.mul(base, t, out=new(shape, t)))
            else:
                acc = torch.add(t2, c[-2] / lead, out=new(shape, t))  # type: ignore[arg-type]
                for ci in reversed(c[:-2]):
                    acc.mul_(t2).add_(ci / lead)  # type: ignore[arg-type]
                if odd:
                    acc.mul_(t)
                s.append(acc.mul_(base))
            scale.append(lead)
        return s, scale

    def value_backward(self, grad: torch.Tensor, nd: int, saved: Any) -> None:
        torch.ops.aten.tanh_backward.grad_input(grad, saved, grad_input=grad)
        if self.inner != 1.0:
            grad.mul_(self.outer * self.inner)


class _RuleKernel(Kernel):
    """Any :class:`ActivationRule`: its closed-form derivatives (``None`` orders are zero)."""

    def __init__(self, rule: ActivationRule) -> None:
        self.rule = rule

    def forward(
        self, z: torch.Tensor, nd: int, out: torch.Tensor, top: int, new: New
    ) -> tuple[list[torch.Tensor | None], list[float], Any]:
        d = self.rule.derivatives(z[:, :nd], top)
        out[:, :nd].copy_(d.value)
        s: list[torch.Tensor | None] = [None, *(d.derivative(k) for k in range(1, top + 1))]
        s = [None if v is None else v.expand_as(d.value) for v in s]
        s1_rest = None
        if z.shape[1] > nd:  # value-only columns: the value and s' (for the backward)
            r = self.rule.derivatives(z[:, nd:], 1)
            out[:, nd:].copy_(r.value)
            s1_rest = r.derivative(1)
        return s, [1.0] * len(s), (s[1], s1_rest)

    def value_backward(self, grad: torch.Tensor, nd: int, saved: Any) -> None:
        s1, s1_rest = saved
        if s1 is None:
            grad[:, :nd].zero_()
        else:
            grad[:, :nd].mul_(s1)
        if s1_rest is None:
            grad[:, nd:].zero_()
        else:
            grad[:, nd:].mul_(s1_rest)


def kernel_for(rule: ActivationRule) -> Kernel:
    """The fused kernel of an activation rule (tanh and sigmoid have dedicated ones)."""
    if type(rule) is TanhRule:
        return _TanhKernel()
    if type(rule) is SigmoidRule:
        return _TanhKernel(0.5, 0.5, 0.5)
    return _RuleKernel(rule)
