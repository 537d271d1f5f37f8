"""Fused Taylor mode for derivatives up to order two: one autograd node per network call.

For an MLP ``h -> s(h W^T + b)`` the derivative channels of order <= 2 follow

    D_i a   = s'(z) D_i z
    D_ij a  = s'(z) D_ij z + s''(z) D_i z D_j z

with ``D z = (D a_prev) W^T`` (the bias only enters the value channel). :func:`fused_taylor2`
runs this forward without recording an autograd graph and registers one node whose backward
is written out by hand, instead of autograd replaying every elementwise operation.

Layout: each layer keeps one buffer of ``N + C * nd`` rows, the value of every point first,
then ``C`` derivative channels of the first ``nd`` points (the points with derivatives; the
others are value-only rows, e.g. boundary points evaluated in the same call). A linear layer
is then one matrix product over all rows (the bias added to the value rows), and its backward
two: the weight gradient and the input gradient. Gradients with respect to the parameters are
exact (the same function as the unfused engine, to round-off); gradients with respect to the
points are not provided (the engine only fuses when the points do not require them), and the
node is differentiable once: a backward pass with ``create_graph=True`` through it raises
(``TaylorEngine(fused=False)`` gives second derivatives with respect to the parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .activations import ActivationRule, TanhRule
from .plan import TaylorPlan


@dataclass(frozen=True)
class Order2Layout:
    """The derivative channels of a plan of order <= 2, stacked after the value.

    Attributes:
        first_axes: the input coordinate of each first-order channel (channels ``0..F-1``).
        pairs: each second-order channel (channels ``F..F+S-1``) as positions ``(i, j)``,
            ``i <= j``, of the first-order channels whose product it needs.
    """

    first_axes: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]

    @property
    def n_channels(self) -> int:
        return len(self.first_axes) + len(self.pairs)

    @staticmethod
    def from_plan(plan: TaylorPlan) -> Order2Layout | None:
        """The layout of ``plan`` (channel ``c`` of the plan is stacked channel ``c - 1``), or
        None when the plan carries derivatives of order > 2."""
        if plan.max_order > 2:
            return None
        nf = plan.n_first
        pairs = []
        for a in plan.indices[1 + nf :]:
            axes = [j for j, k in enumerate(a) for _ in range(k)]
            unit = [tuple(int(j == ax) for j in range(plan.dim)) for ax in axes]
            i, j = sorted(plan.position[u] - 1 for u in unit)
            pairs.append((i, j))
        return Order2Layout(tuple(plan.first_axes), tuple(pairs))


class _Kernel:
    """The activation on all rows, and its derivatives on the derivative rows (the first ``nd``).

    The second derivative is returned as ``s2h = s'' / c2`` with the constant ``c2`` kept
    apart (tanh: ``-2``), so that it folds into the operations that use it.
    """

    c2: float = 1.0

    def forward(
        self, z: torch.Tensor, nd: int, out: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        """Write ``s(z)`` into ``out``; return ``(s'(z[:nd]), s''(z[:nd]) / c2, saved)``."""
        raise NotImplementedError

    def value_backward(self, grad: torch.Tensor, a: torch.Tensor, saved: tuple[torch.Tensor, ...]) -> None:
        """``grad *= s'(z)`` in place, on all rows (``a`` is ``s(z)``)."""
        raise NotImplementedError

    def add_third(
        self, out: torch.Tensor, q: torch.Tensor, s1: torch.Tensor, saved: tuple[torch.Tensor, ...]
    ) -> None:
        """``out += s3 * q`` in place, with ``s3`` the third derivative on the derivative rows."""
        raise NotImplementedError


class _TanhKernel(_Kernel):
    """tanh: ``s' = 1 - t^2``, ``s'' = -2 t s'``, ``s''' = s' (4 - 6 s')``."""

    c2 = -2.0

    def forward(
        self, z: torch.Tensor, nd: int, out: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        torch.tanh(z, out=out)
        t = out[:nd]
        one = torch.ones((), dtype=t.dtype, device=t.device)
        s1 = torch.ops.aten.tanh_backward(one.expand_as(t), t)  # 1 - t^2 in one kernel
        return s1, t * s1, ()

    def value_backward(self, grad: torch.Tensor, a: torch.Tensor, saved: tuple[torch.Tensor, ...]) -> None:
        torch.ops.aten.tanh_backward.grad_input(grad, a, grad_input=grad)

    def add_third(
        self, out: torch.Tensor, q: torch.Tensor, s1: torch.Tensor, saved: tuple[torch.Tensor, ...]
    ) -> None:
        tmp = s1 * q
        out.add_(tmp, alpha=4.0).addcmul_(s1, tmp, value=-6.0)


class _RuleKernel(_Kernel):
    """Any :class:`ActivationRule`: its closed-form derivatives (``None`` orders are zero)."""

    def __init__(self, rule: ActivationRule) -> None:
        self.rule = rule

    def forward(
        self, z: torch.Tensor, nd: int, out: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        d = self.rule.derivatives(z, 3)
        out.copy_(d.value)
        s = [d.derivative(k) for k in range(1, 4)]
        s = [torch.zeros_like(d.value) if v is None else v.expand_as(d.value) for v in s]
        return s[0][:nd], s[1][:nd], (s[0], s[2][:nd])

    def value_backward(self, grad: torch.Tensor, a: torch.Tensor, saved: tuple[torch.Tensor, ...]) -> None:
        grad.mul_(saved[0])

    def add_third(
        self, out: torch.Tensor, q: torch.Tensor, s1: torch.Tensor, saved: tuple[torch.Tensor, ...]
    ) -> None:
        out.addcmul_(saved[1], q)


def kernel_for(rule: ActivationRule) -> _Kernel:
    """The fused kernel of an activation rule (tanh has a dedicated one)."""
    return _TanhKernel() if type(rule) is TanhRule else _RuleKernel(rule)


@dataclass(frozen=True)
class _Spec:
    layout: Order2Layout
    kernel: _Kernel
    center: torch.Tensor | None
    inv: torch.Tensor | None
    biases: tuple[bool, ...]


@dataclass
class _Layer:
    a: torch.Tensor  # the layer's buffer: activations of all rows, then the channels (N + C nd, w)
    s1: torch.Tensor  # s'(z) on the derivative rows
    s2h: torch.Tensor  # s''(z) / c2 on the derivative rows
    zd: torch.Tensor  # pre-activation channels: (C, nd, w), or (F, 1, w) constant rows at layer 0
    p: torch.Tensor | None  # D_i z D_j z per pair: (S, nd, w), or (S, 1, w) at layer 0
    saved: tuple[torch.Tensor, ...]


def _unpack(spec: _Spec, params: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    out, k = [], 0
    for has_bias in spec.biases:
        w = params[k]
        b = params[k + 1] if has_bias else None
        out.append((w, b))
        k += 2 if has_bias else 1
    return out


def _products(zd: torch.Tensor, pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    """``zd[i] * zd[j]`` for every pair, stacked."""
    p = torch.empty((len(pairs), *zd.shape[1:]), dtype=zd.dtype, device=zd.device)
    for k, (i, j) in enumerate(pairs):
        torch.mul(zd[i], zd[j], out=p[k])
    return p


def _dot(g: Sequence[torch.Tensor], z: Sequence[torch.Tensor]) -> torch.Tensor:
    """``sum_c g[c] * z[c]`` (``z`` may broadcast its rows)."""
    acc = g[0] * z[0]
    for gc, zc in zip(g[1:], z[1:], strict=False):
        acc.addcmul_(gc, zc)
    return acc


class _FusedTaylor2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, spec: _Spec, nd: int, x: torch.Tensor, *params: torch.Tensor) -> Any:
        layers = _unpack(spec, params)
        lay, kernel = spec.layout, spec.kernel
        nf, pairs, c = len(lay.first_axes), lay.pairs, lay.n_channels
        n = x.shape[0]
        h = x if spec.center is None else (x - spec.center) * spec.inv
        w0, b0 = layers[0]
        z = h @ w0.t()
        if b0 is not None:
            z.add_(b0)
        w0s = w0 if spec.inv is None else w0 * spec.inv
        zd: torch.Tensor = w0s.t()[list(lay.first_axes)].unsqueeze(1)  # (F, 1, w): constant rows
        first = True
        saved: list[_Layer] = []
        for w, b in layers[1:]:
            width = z.shape[1]
            buf = torch.empty((n + c * nd, width), dtype=z.dtype, device=z.device)
            s1, s2h, extra = kernel.forward(z[:n], nd, buf[:n])
            da = buf[n:].view(c, nd, width)
            p = _products(zd, pairs) if pairs else None
            if first:  # first-order channels are constant rows, second-order ones are zero
                torch.mul(s1, zd, out=da[:nf])
                if p is not None:
                    torch.mul(s2h, p * kernel.c2, out=da[nf:])
            else:
                torch.mul(s1, zd, out=da)
                if p is not None:
                    da[nf:].addcmul_(s2h, p, value=kernel.c2)
            saved.append(_Layer(buf, s1, s2h, zd, p, extra))
            z = buf @ w.t()
            if b is not None:
                z[:n].add_(b)
            zd = z[n:].view(c, nd, -1)
            first = False
        ctx.spec, ctx.nd, ctx.layers, ctx.h = spec, nd, saved, h
        ctx.save_for_backward(*params)
        return z

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        if torch.is_grad_enabled():  # create_graph=True: a second derivative would miss this node
            raise RuntimeError(
                "pinnopt's fused Taylor node is differentiable once (its backward is written by "
                "hand); differentiating through it twice (create_graph=True) needs "
                "TaylorEngine(fused=False) or AutogradEngine()"
            )
        spec: _Spec = ctx.spec
        nd: int = ctx.nd
        saved: list[_Layer] = ctx.layers
        layers = _unpack(spec, ctx.saved_tensors)
        lay, kernel = spec.layout, spec.kernel
        nf, pairs, c2 = len(lay.first_axes), lay.pairs, kernel.c2
        axes = list(lay.first_axes)
        n = ctx.h.shape[0]
        grads: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        g = grad
        for li in range(len(saved), -1, -1):
            # ``g``: gradient of the outputs of linear layer ``li`` (its pre-activations).
            w, b = layers[li]
            if li > 0:
                prev = saved[li - 1]
                grads.append((g.t() @ prev.a, g[:n].sum(0) if b is not None else None))
                g = g @ w  # gradient of the buffer of layer li - 1: activations, then channels
                _activation_backward(kernel, prev, g, n, nd, nf, pairs, c2, li - 1 == 0)
            else:
                gw = g[:n].t() @ ctx.h
                if nd:  # the first-order channels of layer 0 are the columns W0[:, axis] * inv
                    col = g[n:].view(-1, nd, g.shape[1])[:nf].sum(1)
                    if spec.inv is not None:
                        col = col * spec.inv[axes].unsqueeze(1)
                    gw[:, axes] += col.t()
                grads.append((gw, g[:n].sum(0) if b is not None else None))
        out: list[torch.Tensor | None] = [None, None, None]
        for gw, gb in reversed(grads):
            out.append(gw)
            if gb is not None:
                out.append(gb)
        return tuple(out)


def _activation_backward(
    kernel: _Kernel,
    lyr: _Layer,
    g: torch.Tensor,
    n: int,
    nd: int,
    nf: int,
    pairs: Sequence[tuple[int, int]],
    c2: float,
    first: bool,
) -> None:
    """Turn ``g`` (gradient of a layer's buffer) into the gradient of its pre-activations, in place."""
    c = nf + len(pairs)
    gd = g[n:].view(c, nd, -1)
    gch = gd.unbind(0)
    zch = lyr.zd.unbind(0)
    # Terms that read the channel gradients before they are scaled in place.
    acc = _dot(gch[:nf] if first else gch, zch)  # sum_c g_c D_c z
    gp = q = None
    if pairs:
        gp = gd[nf:] * lyr.s2h  # gradient of the products D_i z D_j z, divided by c2
        q = _dot(gch[nf:], lyr.p.unbind(0))  # type: ignore[union-attr]
    kernel.value_backward(g[:n], lyr.a[:n], lyr.saved)
    (gd[:nf] if first else gd).mul_(lyr.s1)
    if gp is not None and q is not None:
        for k, (i, j) in enumerate(pairs):
            if i == j:
                gch[i].addcmul_(gp[k], zch[i], value=2.0 * c2)
            else:
                gch[i].addcmul_(gp[k], zch[j], value=c2)
                gch[j].addcmul_(gp[k], zch[i], value=c2)
        kernel.add_third(g[:nd], q, lyr.s1, lyr.saved)
    g[:nd].addcmul_(lyr.s2h, acc, value=c2)


def fused_taylor2(
    linears: Sequence[nn.Linear],
    kernel: _Kernel,
    layout: Order2Layout,
    center: torch.Tensor | None,
    inv: torch.Tensor | None,
    x: torch.Tensor,
    nd: int,
) -> torch.Tensor:
    """The network's outputs on all ``N`` rows of ``x``, then ``C`` stacked derivative channels
    of the first ``nd`` rows: ``(N + C * nd, out)``, through one autograd node (see the module
    docstring)."""
    params: list[torch.Tensor] = []
    for layer in linears:
        params.append(layer.weight)
        if layer.bias is not None:
            params.append(layer.bias)
    spec = _Spec(layout, kernel, center, inv, tuple(lin.bias is not None for lin in linears))
    return _FusedTaylor2.apply(spec, nd, x, *params)
