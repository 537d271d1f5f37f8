"""Taylor channels of fixed input embeddings, for the fused node's first layer.

An embedding maps the (scaled) input ``h`` to features ``e(h)`` before the first linear
layer. For the embeddings here every feature is a coordinate or ``cos``/``sin`` of a linear
form ``u = a . h + c``, so its derivative of multi-index ``m`` with respect to the user's
coordinates ``x`` (``h = (x - center) * inv``) is closed-form:

    D^m cos(u) = prod_j (a_j inv_j)^(m_j) cos(u + |m| pi / 2)     (sin alike)

:func:`embedding_channels` writes the features and these derivatives into one feature-major
buffer ``(E, N + C nd)`` laid out as the fused node's layer buffers (values of all points,
then ``C`` derivative channels of the first ``nd`` points). Only embeddings without trainable
parameters are supported (:func:`supported`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..embedding import FourierFeatureLayer, PeriodicLayer

MultiIndex = tuple[int, ...]


def supported(embedding: nn.Module) -> bool:
    """Whether :func:`embedding_channels` handles ``embedding`` (exact class, nothing trainable)."""
    if type(embedding) is PeriodicLayer:
        return True
    return type(embedding) is FourierFeatureLayer and not any(p.requires_grad for p in embedding.parameters())


def _forms(
    embedding: nn.Module, dim: int, like: torch.Tensor
) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """``(pass-through axes, A, c)``: the cos/sin features are ``cos(h A^T + c)``, ``sin(...)``."""
    if type(embedding) is PeriodicLayer:
        axes, k = list(embedding.axes), embedding.k.to(like)
        rows = []
        for p, a in enumerate(axes):
            row = torch.zeros(len(k), dim, dtype=like.dtype, device=like.device)
            row[:, a] = k * embedding.freq[p].to(like)
            rows.append(row)
        a_mat = torch.cat(rows)  # (P K, dim), the order of PeriodicLayer's kt
        shift = (embedding.shift.to(like)[:, None] * k).reshape(-1)
        return list(embedding.others), a_mat, shift
    b = embedding.B.to(like)
    return [], (2 * math.pi) * b, torch.zeros(b.shape[0], dtype=like.dtype, device=like.device)


def embedding_channels(
    embedding: nn.Module,
    h: torch.Tensor,
    inv: torch.Tensor | None,
    indices: Sequence[MultiIndex],
    nd: int,
) -> torch.Tensor:
    """Features of the ``N`` scaled points ``h`` and their derivative channels (multi-indices
    ``indices``, with respect to the unscaled coordinates) of the first ``nd`` points,
    feature-major ``(E, N + C nd)``."""
    n, dim = h.shape
    others, a_mat, shift = _forms(embedding, dim, h)
    scale = torch.ones(dim, dtype=h.dtype, device=h.device) if inv is None else inv.to(h)
    u = torch.addmm(shift, h, a_mat.t()).t()  # (F, N)
    n_feat = len(others) + 2 * a_mat.shape[0]
    out = h.new_empty((n_feat, n + len(indices) * nd))
    p = len(others)
    out[:p, :n] = h[:, others].t()
    torch.cos(u, out=out[p : p + a_mat.shape[0], :n])
    torch.sin(u, out=out[p + a_mat.shape[0] :, :n])
    f = a_mat.shape[0]
    cos_d, sin_d = out[p : p + f, :nd], out[p + f :, :nd]
    # D^k cos = cos, -sin, -cos, sin; D^k sin = sin, cos, -sin, -cos (k mod 4)
    turns = {0: (cos_d, 1.0, sin_d, 1.0), 1: (sin_d, -1.0, cos_d, 1.0), 2: (cos_d, -1.0, sin_d, -1.0)}
    turns[3] = (sin_d, 1.0, cos_d, -1.0)
    scaled = a_mat * scale  # d u / d x_j
    for c, m in enumerate(indices):
        cols = slice(n + c * nd, n + (c + 1) * nd)
        block = out[:, cols]
        order = sum(m)
        for q, j in enumerate(others):  # a coordinate: its first derivative along itself
            if order == 1 and m[j] == 1:
                block[q].fill_(scale[j])  # a 0-d tensor: no host synchronization
            else:
                block[q].zero_()
        factor = torch.ones(a_mat.shape[0], dtype=h.dtype, device=h.device)
        for j, mj in enumerate(m):
            if mj:
                factor = factor * scaled[:, j] ** mj
        c_src, c_sign, s_src, s_sign = turns[order % 4]
        torch.mul(c_src, (c_sign * factor)[:, None], out=block[p : p + f])
        torch.mul(s_src, (s_sign * factor)[:, None], out=block[p + f :])
    return out
