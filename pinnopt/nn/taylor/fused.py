"""Fused Taylor mode for derivatives up to order four: one autograd node per network call.

For an MLP ``h -> s(W h + b)`` every derivative channel of an activation follows the
multivariate Faa di Bruno formula of :mod:`.plan`,

    D_c a = s'(z) D_c z + sum_k s^(k)(z) P_{c,k},    P_{c,k} = sum coeff * prod D_B z

with ``D z = W (D a_prev)`` (the bias only enters the value). :func:`fused_taylor` runs this
forward without recording an autograd graph and registers one node whose backward is written
out by hand (the product rule on every term), instead of autograd replaying every
elementwise operation of the recursion.

Layout (feature-major): each layer keeps one buffer of shape ``(width, N + C * nd)``: the
value of every point first, then ``C`` derivative channels of the first ``nd`` points (the
points with derivatives; the others are value-only columns, e.g. boundary points evaluated in
the same call). A linear layer is the product ``W @ A`` over all columns, formed as two: the
value columns by ``addmm`` (bias included, times the activation kernel's ``value_scale``: tanh
on CPUs takes ``2 (W a + b)``, exactly), the channel columns by ``mm``; its backward is two
products. Feature-major products ``(w, w) @ (w, R)`` were
measured 1.1-1.4x (float32) and 1.5-2x (float64) faster than the row-major ``(R, w) @ (w, w)``
with MKL on one CPU thread (``R`` = 10400 and 36864 columns, widths 20 and 100).

Gradients with respect to the parameters are exact (the same function as the unfused engine,
to round-off); gradients with respect to the points are not provided (the engine only fuses
when the points do not require them), and the node is differentiable once: a backward pass
with ``create_graph=True`` through it raises (``TaylorEngine(fused=False)`` gives second
derivatives with respect to the parameters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import fused_native
from .features import embedding_channels
from .fused_kernels import Kernel
from .fused_layout import FusedLayout, Program, program_of
from .fused_native import NativeLayer, native_layers
from .workspace import WORKSPACE, Arena

# -- the node ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    program: Program
    first_axes: tuple[int, ...]
    kernel: Kernel
    center: torch.Tensor | None
    inv: torch.Tensor | None
    biases: tuple[bool, ...]
    embedding: nn.Module | None = None  # a fixed input embedding (:mod:`.features`)
    indices: tuple[tuple[int, ...], ...] = ()  # the channels' multi-indices (with an embedding)


@dataclass
class _Layer:
    a: torch.Tensor  # the layer's buffer: activations of all columns, then the channels (w, N + C nd)
    z: list[torch.Tensor | None]  # pre-activation channels (w, nd); (w, 1) or None at layer 0
    s: list[torch.Tensor | None]  # [None, s', s'', ...] on the derivative columns, up to ...
    scale: list[float]  # ... constant factors: s^(k) = scale[k] * s[k]
    p: dict[tuple[int, int], tuple[torch.Tensor, float]]  # P_{c,k} = factor * tensor
    products: dict[tuple[int, ...], torch.Tensor | None]  # the forward's channel products (reused)
    saved: Any
    stacked: bool  # the channels are one block of columns (every layer but the first)
    native: NativeLayer | None = None  # the native kernels that formed it (then s, p, ... are empty)


def _unpack(
    biases: Sequence[bool], params: Sequence[torch.Tensor]
) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    out, k = [], 0
    for has_bias in biases:
        out.append((params[k], params[k + 1] if has_bias else None))
        k += 2 if has_bias else 1
    return out


def _linear(
    w: torch.Tensor, b: torch.Tensor | None, a: torch.Tensor, scale: float, out: torch.Tensor
) -> torch.Tensor:
    """``scale * (w @ a + b)`` into ``out`` in one product (``scale`` a power of two: exact)."""
    if b is None:
        return torch.addmm(out, w, a, beta=0.0, alpha=scale, out=out)  # beta 0: ``out`` ignored
    return torch.addmm(b.unsqueeze(1), w, a, beta=scale, alpha=scale, out=out)


def _mul(a: torch.Tensor, b: torch.Tensor, arena: Arena) -> torch.Tensor:
    """``a * b`` (broadcasting) into a buffer of the arena."""
    (a0, a1), (b0, b1) = a.shape, b.shape  # 2-D operands (torch.broadcast_shapes is slow Python)
    return torch.mul(a, b, out=arena.new((max(a0, b0), max(a1, b1)), a))


class _Products:
    """Products of channels, each formed once (``None``: a zero channel)."""

    def __init__(
        self,
        z: Sequence[torch.Tensor | None],
        arena: Arena,
        memo: dict[tuple[int, ...], torch.Tensor | None] | None = None,
    ) -> None:
        self.z = z
        self.arena = arena
        self.memo: dict[tuple[int, ...], torch.Tensor | None] = {} if memo is None else memo

    def __call__(self, chans: tuple[int, ...]) -> torch.Tensor | None:
        if len(chans) == 1:
            return self.z[chans[0]]
        got = self.memo.get(chans, False)
        if got is False:
            head, last = self(chans[:-1]), self.z[chans[-1]]
            got = self.memo[chans] = None if head is None or last is None else _mul(head, last, self.arena)
        return got  # type: ignore[return-value]


def _weighted_sum(
    terms: Sequence[tuple[float, torch.Tensor | None]], arena: Arena
) -> tuple[torch.Tensor, float] | None:
    """``sum coeff * t`` over the nonzero terms as ``(tensor, factor)`` (the first coefficient
    kept apart; the tensor is not to be modified), or None."""
    live = [(coeff, t) for coeff, t in terms if t is not None]
    if not live:
        return None
    lead, first = live[0]
    if len(live) == 1:
        return first, lead
    acc = torch.add(first, live[1][1], alpha=live[1][0] / lead, out=arena.new(first.shape, first))
    for coeff, t in live[2:]:
        acc.add_(t, alpha=coeff / lead)
    return acc, lead


def _activate(
    prog: Program,
    kernel: Kernel,
    z: torch.Tensor,
    zc: list[torch.Tensor | None],
    n: int,
    nd: int,
    arena: Arena,
    stacked: bool,
) -> _Layer:
    """The activation's buffer from the pre-activation values ``z[:, :n]`` (times the kernel's
    ``value_scale``, bias included; they may be overwritten) and channels ``zc``
    (``stacked``: the channels are the columns ``z[:, n:]``, scaled by ``s'`` in one operation)."""
    c_all = prog.n_channels
    w = z.shape[0]
    buf = arena.new((w, n + c_all * nd), z)
    value, chans = buf.split((n, c_all * nd), 1)
    outs = chans.view(w, c_all, nd).unbind(1)  # one view per channel
    s, scale, saved = kernel.forward(z[:, :n], nd, value, prog.top, arena.new)
    s1 = s[1]
    prod = _Products(zc, arena)
    p: dict[tuple[int, int], tuple[torch.Tensor, float]] = {}
    scaled = stacked and s1 is not None
    if scaled:
        torch.mul(s1.unsqueeze(1), z[:, n:].view(w, c_all, nd), out=chans.view(w, c_all, nd))  # type: ignore[union-attr]
    for c in range(c_all):
        out = outs[c]
        zcc = zc[c]
        started = scaled
        if not scaled and zcc is not None and s1 is not None:
            torch.mul(s1, zcc, out=out)
            started = True
        if c >= prog.n_first:
            for k, terms in prog.forward[c - prog.n_first][1]:
                got = _weighted_sum([(coeff, prod(chans)) for coeff, chans in terms], arena)
                sk = s[k]
                if got is None or sk is None:
                    continue
                p[(c, k)] = got
                pk, value = got[0], got[1] * scale[k]
                if started:
                    out.addcmul_(sk, pk, value=value)
                else:
                    if value != 1.0 and pk.shape[1] == 1:  # a constant column (the first layer)
                        torch.mul(sk, pk * value, out=out)
                    else:
                        torch.mul(sk, pk, out=out)
                        if value != 1.0:
                            out.mul_(value)
                    started = True
        if not started:
            out.zero_()
    return _Layer(buf, zc, s, scale, p, prod.memo, saved, stacked)


def _activation_backward(
    prog: Program,
    kernel: Kernel,
    lyr: _Layer,
    g: torch.Tensor,
    n: int,
    nd: int,
    arena: Arena,
    live: Sequence[bool] | None = None,
) -> None:
    """Turn ``g`` (gradient of a layer's buffer) into the gradient of its pre-activations, in place
    (temporaries from ``arena``). Channels whose pre-activation is zero (``None``, at layer 0)
    are left as they are; ``live[c]`` False: the channel's gradient is known to be zero (its
    terms are skipped)."""
    c_all = prog.n_channels
    g_all = g[:, n:].view(g.shape[0], c_all, nd).unbind(1)
    gc: list[torch.Tensor | None] = (
        list(g_all) if live is None else [gi if ok else None for gi, ok in zip(g_all, live, strict=True)]
    )
    if prog.chain:
        _chain_backward(kernel, lyr, g, n, nd, arena, gc, g_all)
        return
    s, scale, zc, p = lyr.s, lyr.scale, lyr.z, lyr.p
    prod = _Products(zc, arena, dict(lyr.products))  # the forward's products, not its dict
    # Everything that reads the channel gradients before they are scaled in place; each sum
    # keeps its first coefficient apart (folded into the final addcmul).
    acc0 = _dot([(gc[c], zc[c], 1.0) for c in range(c_all)], arena)  # sum_c G_c D_c z (times s'')
    q = []
    for k, cs in prog.q_terms:
        pairs = [(gc[c], p[(c, k)][0], p[(c, k)][1]) for c in cs if (c, k) in p]
        q.append((k, _dot(pairs, arena)))  # type: ignore[arg-type]
    t: list[list[tuple[int, tuple[torch.Tensor, float]]]] = []
    for j in range(c_all):
        tj = []
        if zc[j] is not None:
            for k, terms in prog.backward[j]:
                live_terms = [(gc[c], prod(rest), coeff) for c, coeff, rest in terms if gc[c] is not None]
                got = _dot(live_terms, arena)
                if got is not None and s[k] is not None:
                    tj.append((k, got))
        t.append(tj)
    kernel.value_backward(g[:, :n], nd, lyr.saved)
    g0 = g[:, :nd]
    if acc0 is not None and s[2] is not None:
        g0.addcmul_(s[2], acc0[0], value=scale[2])
    for k, qk in q:
        if qk is not None and s[k + 1] is not None:
            g0.addcmul_(s[k + 1], qk[0], value=scale[k + 1] * qk[1])  # type: ignore[arg-type]
    s1 = s[1]
    if lyr.stacked and s1 is not None:
        g[:, n:].view(g.shape[0], c_all, nd).mul_(s1.unsqueeze(1))
    for j in range(c_all):
        if zc[j] is None:
            continue
        if s1 is None:
            g_all[j].zero_()
        elif not lyr.stacked:
            g_all[j].mul_(s1)
        for k, (tk, lead) in t[j]:
            g_all[j].addcmul_(s[k], tk, value=scale[k] * lead)  # type: ignore[arg-type]


def _chain_backward(
    kernel: Kernel,
    lyr: _Layer,
    g: torch.Tensor,
    n: int,
    nd: int,
    arena: Arena,
    gc: Sequence[torch.Tensor | None],
    g_all: Sequence[torch.Tensor],
) -> None:
    """:func:`_activation_backward` for a chain layout (channel ``c``: the derivative of order
    ``c + 1`` along one axis), in fewer passes.

    Let ``D_m`` be the derivative of order ``m`` of ``s'(z)``: the forward's rule with every
    ``s^(k)`` replaced by ``s^(k+1)``, ``D_0 = s'``, ``D_m = s'' D_m z + sum_k s^(k+1) P_{m,k}``
    (the products ``P`` of the forward). Since ``d B_{m,k} / d x_j = binom(m, j) B_{m-j,k-1}``
    for the Bell polynomials of Faa di Bruno's formula, the derivative of order ``m`` of
    ``s(z)`` has the partial derivatives ``D_m`` with respect to the value ``z`` and
    ``binom(m, j) D_{m-j}`` with respect to the derivative of order ``j`` of ``z``."""
    s, scale, zc, p = lyr.s, lyr.scale, lyr.z, lyr.p
    memo: dict[int, tuple[torch.Tensor, float] | None] = {}

    def d(m: int) -> tuple[torch.Tensor, float] | None:  # D_m (m >= 1) as (tensor, factor)
        if m not in memo:
            c = m - 1
            terms = [(s[2], zc[c], scale[2])]
            for k in range(2, m + 1):
                got = p.get((c, k))
                if got is not None:
                    terms.append((s[k + 1], got[0], scale[k + 1] * got[1]))
            memo[m] = _dot(terms, arena)
        return memo[m]

    kernel.value_backward(g[:, :n], nd, lyr.saved)
    g0 = g[:, :nd]
    for c, gi in enumerate(gc):
        dc = None if gi is None else d(c + 1)
        if dc is not None:
            g0.addcmul_(gi, dc[0], value=dc[1])  # type: ignore[arg-type]
    s1 = s[1]
    for j, gj in enumerate(g_all):  # ascending: the terms read the channels above, not yet scaled
        if zc[j] is None:
            continue
        if gc[j] is not None:  # else the channel's gradient is zero: s' G_j is too
            if s1 is None:
                gj.zero_()
            else:
                gj.mul_(s1)
        for c in range(j + 1, len(g_all)):
            gi = gc[c]
            dm = None if gi is None else d(c - j)
            if dm is not None:
                gj.addcmul_(gi, dm[0], value=math.comb(c + 1, j + 1) * dm[1])  # type: ignore[arg-type]


def _dot(
    terms: Sequence[tuple[torch.Tensor | None, torch.Tensor | None, float]], arena: Arena
) -> tuple[torch.Tensor, float] | None:
    """``sum coeff * g * z`` over the terms with a nonzero ``g`` and ``z`` (``z`` may broadcast)
    as ``(tensor, factor)``, the first coefficient kept apart; or None."""
    acc: torch.Tensor | None = None
    lead = 1.0
    for gi, zi, coeff in terms:
        if zi is None or gi is None:
            continue
        if acc is None:
            acc, lead = _mul(gi, zi, arena), coeff
        else:
            acc.addcmul_(gi, zi, value=coeff / lead)
    return None if acc is None else (acc, lead)


def _hidden_linear(
    w: torch.Tensor, b: torch.Tensor | None, a: torch.Tensor, n: int, scale: float, native: bool, arena: Arena
) -> torch.Tensor:
    """``W a`` over all columns of a layer buffer ``a``: with native kernels one product (they
    add the bias), else the value columns with the bias, times ``scale``, and the channels."""
    if native:
        return torch.mm(w, a, out=arena.new((w.shape[0], a.shape[1]), a))
    z = arena.new((w.shape[0], a.shape[1]), a)
    _linear(w, b, a[:, :n], scale, z[:, :n])
    torch.mm(w, a[:, n:], out=z[:, n:])
    return z


def _first_weight_grad(spec: _Spec, h: torch.Tensor, g: torch.Tensor, n: int, nd: int) -> torch.Tensor:
    """The first layer's weight gradient from ``g`` (of its pre-activations): the values'
    product with the points, plus the first-order channels, whose columns are the constants
    ``W0[:, axis] * inv[axis]``."""
    gw = torch.mm(h.t(), g[:, :n].t()).t()  # (w, d); ``g[:, :n] @ h`` was 4x slower
    axes = spec.first_axes
    cols = g[:, n : n + len(axes) * nd].view(g.shape[0], len(axes), nd).sum(2)  # (w, F)
    if spec.inv is not None:
        cols.mul_(spec.inv if axes == tuple(range(spec.inv.shape[0])) else spec.inv[list(axes)])
    if axes == tuple(range(len(axes))):
        gw[:, : len(axes)].add_(cols)
    else:
        gw.index_add_(1, torch.tensor(axes, device=gw.device), cols)
    return gw


class _FusedTaylor(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, spec: _Spec, nd: int, x: torch.Tensor, *params: torch.Tensor) -> Any:
        layers = _unpack(spec.biases, params)
        prog, kernel = spec.program, spec.kernel
        n = x.shape[0]
        h = x if spec.center is None else (x - spec.center) * spec.inv
        w0, b0 = layers[0]
        arena = Arena()  # the forward's buffers, handed back after the backward
        # native kernels add the bias and apply the activation themselves: plain products here
        native = native_layers(prog, kernel, h) if fused_native.params_fit(layers, h) else None
        scale = 1.0 if native else kernel.value_scale(h)  # of the values, formed by the products
        embedded = spec.embedding is not None
        a0: torch.Tensor | None = None
        if embedded:  # features and their channels: the first layer is a product like the others
            a0 = embedding_channels(spec.embedding, h, spec.inv, spec.indices, nd)  # type: ignore[arg-type]
            z = _hidden_linear(w0, b0, a0, n, scale, native is not None, arena)
            zc: list[torch.Tensor | None] = list(z[:, n:].view(z.shape[0], prog.n_channels, nd).unbind(1))
        else:
            z = _linear(w0, None if native else b0, h.t(), scale, arena.new((w0.shape[0], n), h))  # (w, n)
            w0s = w0 if spec.inv is None else w0 * spec.inv
            zc = [w0s[:, a : a + 1] for a in spec.first_axes]  # constant columns
            zc += [None] * (prog.n_channels - prog.n_first)
        saved: list[_Layer] = []
        last = len(layers) - 1
        for i, (w, b) in enumerate(layers[1:], 1):
            stacked = i > 1 or embedded  # the channels are the columns z[:, n:]
            if native is None:
                lyr = _activate(prog, kernel, z, zc, n, nd, arena, stacked)
            else:
                nat = native[1 if stacked else 0]
                buf = arena.new((z.shape[0], n + prog.n_channels * nd), z)
                fused_native.activate(nat, z, layers[i - 1][1], zc, buf, n, nd)
                lyr = _Layer(buf, zc, [], [], {}, {}, (z, layers[i - 1][1]), stacked, nat)
            saved.append(lyr)
            a = lyr.a
            if i < last:
                z = _hidden_linear(w, b, a, n, scale, native is not None, arena)
            else:  # the output: not pooled
                z = w @ a
                if b is not None:
                    z[:, :n].add_(b.unsqueeze(1))
            zc = list(z[:, n:].view(z.shape[0], prog.n_channels, nd).unbind(1))
        ctx.spec, ctx.nd, ctx.layers, ctx.arena, ctx.h, ctx.a0 = spec, nd, saved, arena, h, a0
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
        layers = _unpack(spec.biases, ctx.saved_tensors)
        prog = spec.program
        n = ctx.h.shape[0]
        grads: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        g = grad
        # channels whose gradient is zero at the output (fields the loss does not use): their
        # terms are skipped in the last activation's backward
        blocks = grad[:, n:].reshape(grad.shape[0], prog.n_channels, nd).unbind(1)
        live: list[bool] | None = [bool(blk.any()) for blk in blocks]
        if all(live):  # type: ignore[arg-type]
            live = None
        bias_grad: torch.Tensor | None = None  # of layer li, summed by the native kernel
        for li in range(len(saved), 0, -1):
            # ``g``: gradient of the outputs of linear layer ``li`` (its pre-activations).
            w, b = layers[li]
            prev = saved[li - 1]
            if b is not None and bias_grad is None:
                bias_grad = g[:, :n].sum(1)
            grads.append((g @ prev.a.t(), bias_grad))
            # gradient of the buffer of layer li - 1; one output: an outer product, not a GEMM
            buf = WORKSPACE.take(prev.a.shape, g)
            if w.shape[0] == 1:
                torch.mul(w.t(), g, out=buf)
            else:
                torch.mm(w.t(), g, out=buf)
            if li < len(saved):
                WORKSPACE.give(g)  # the previous layer's gradient buffer (pooled)
            g = buf
            temps = Arena()
            bias_grad = None
            if prev.native is None:
                _activation_backward(prog, spec.kernel, prev, g, n, nd, temps, live)
            else:
                if layers[li - 1][1] is not None:
                    bias_grad = g.new_empty(g.shape[0])
                fused_native.backward(prev.native, prev.a, *prev.saved, prev.z, g, n, nd, bias_grad)
            temps.release()
            live = None
        b0 = layers[0][1]
        # with an embedding, the features and their channels give the first layer's product
        gw = _first_weight_grad(spec, ctx.h, g, n, nd) if ctx.a0 is None else torch.mm(g, ctx.a0.t())
        if b0 is not None and bias_grad is None:
            bias_grad = g[:, :n].sum(1)
        grads.append((gw, bias_grad))
        WORKSPACE.give(g)  # the forward's buffers go back with the graph (ctx.arena)
        out: list[torch.Tensor | None] = [None, None, None]
        for gw_, gb in reversed(grads):
            out.append(gw_)
            if gb is not None:
                out.append(gb)
        return tuple(out)


def fused_taylor(
    linears: Sequence[nn.Linear],
    kernel: Kernel,
    layout: FusedLayout,
    center: torch.Tensor | None,
    inv: torch.Tensor | None,
    x: torch.Tensor,
    nd: int,
    embedding: nn.Module | None = None,
    indices: Sequence[tuple[int, ...]] = (),
) -> torch.Tensor:
    """The network's outputs on all ``N`` rows of ``x``, then ``C`` stacked derivative channels
    of the first ``nd`` rows, feature-major: ``(out, N + C * nd)``, through one autograd node
    (see the module docstring). ``embedding``: a fixed input embedding before the first layer
    (:func:`.features.supported`), with ``indices`` the multi-index of each channel."""
    params: list[torch.Tensor] = []
    for layer in linears:
        params.append(layer.weight)
        if layer.bias is not None:
            params.append(layer.bias)
    spec = _Spec(
        program_of(layout),
        layout.first_axes,
        kernel,
        center,
        inv,
        tuple(lin.bias is not None for lin in linears),
        embedding,
        tuple(indices) if embedding is not None else (),
    )
    return _FusedTaylor.apply(spec, nd, x, *params)
