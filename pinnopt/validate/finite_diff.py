"""Finite-difference derivatives of numpy callables on sample points, with an error estimate.

Stencils are second-order accurate: central where the stencil fits in the bounding box,
one-sided (``k + 2`` points) near its faces, so a callable is never evaluated outside the
box. Mixed partials use the tensor product of the 1-D stencils. Every derivative is also
computed with twice the step; ``|D_h - D_2h|`` (about three times the error of ``D_h``)
is returned as a conservative error estimate.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..symbolic import DerivativeEngine, DerivativePlan, Field

ValuesFn = Callable[[np.ndarray], Mapping[str, np.ndarray]]

CENTRAL, FORWARD, BACKWARD = 0, 1, 2


@lru_cache(maxsize=64)
def stencil(order: int, kind: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Offsets (in steps) and weights of a second-order accurate ``order``-th derivative."""
    if kind == CENTRAL:
        half = (order + 1) // 2
        offsets = tuple(range(-half, half + 1))
    elif kind == FORWARD:
        offsets = tuple(range(order + 2))
    else:
        offsets = tuple(-k for k in reversed(range(order + 2)))
    n = len(offsets)
    # sum_i w_i o_i^p / p! = [p == order], p = 0..n-1 (Taylor matching)
    vander = np.array([[float(o) ** p for o in offsets] for p in range(n)])
    rhs = np.zeros(n)
    rhs[order] = float(np.prod(np.arange(1, order + 1)))
    weights = np.linalg.solve(vander, rhs)
    return offsets, tuple(float(w) for w in weights)


def step_size(order: int, length: float) -> float:
    """A step balancing truncation (``h^2``) and round-off (``eps / h^order``) errors."""
    return float(length) * float(np.finfo(np.float64).eps) ** (1.0 / (order + 2))


def _kinds(x: np.ndarray, reach: float, lo: float, hi: float) -> np.ndarray:
    kinds = np.full(x.shape, CENTRAL)
    kinds[x + reach > hi] = BACKWARD
    kinds[x - reach < lo] = FORWARD
    return kinds


def derivative(
    fn: ValuesFn,
    points: np.ndarray,
    fields: Iterable[Field],
    bounds: tuple[Sequence[float], Sequence[float]],
    *,
    factor: float = 1.0,
) -> dict[Field, np.ndarray]:
    """The fields (derivatives of ``fn``'s outputs) at ``points`` by finite differences.

    Args:
        fn: maps ``(N, dim)`` points to ``{unknown: (N,) values}``.
        points: ``(N, dim)`` float64 points.
        fields: which derivative of which unknown.
        bounds: ``(lower, upper)`` box that stencils must stay in.
        factor: multiplies every step (``2`` for the error estimate).
    """
    pts = np.asarray(points, dtype=np.float64)
    lower, upper = (np.asarray(b, dtype=np.float64) for b in bounds)
    lengths = upper - lower
    out: dict[Field, np.ndarray] = {}
    for f in fields:
        axes = [a for a, k in enumerate(f.orders) if k > 0]
        if not axes:
            out[f] = np.asarray(fn(pts)[f.unknown], dtype=np.float64)
            continue
        hs = {a: factor * step_size(f.order, lengths[a]) for a in axes}
        kinds = np.stack(
            [_kinds(pts[:, a], ((f.orders[a] + 1) // 2 + 1) * hs[a], lower[a], upper[a]) for a in axes],
            axis=1,
        )
        value = np.zeros(len(pts))
        for combo in itertools.product((CENTRAL, FORWARD, BACKWARD), repeat=len(axes)):
            rows = np.nonzero((kinds == np.asarray(combo)).all(axis=1))[0]
            if rows.size == 0:
                continue
            stencils = [stencil(f.orders[a], kind) for a, kind in zip(axes, combo, strict=True)]
            shifts, weights = [], []
            for picks in itertools.product(*[range(len(s[0])) for s in stencils]):
                shift = np.zeros(pts.shape[1])
                w = 1.0
                for a, s, i in zip(axes, stencils, picks, strict=True):
                    shift[a] = s[0][i] * hs[a]
                    w *= s[1][i] / hs[a] ** f.orders[a]
                shifts.append(shift)
                weights.append(w)
            sub = pts[rows]
            stacked = np.concatenate([sub + s for s in shifts])
            vals = np.asarray(fn(stacked)[f.unknown], dtype=np.float64).reshape(len(shifts), len(rows))
            value[rows] = np.tensordot(np.asarray(weights), vals, axes=1)
        out[f] = value
    return out


class FiniteDifferenceEngine(DerivativeEngine):
    """A derivative engine that differentiates a numpy callable (an exact solution), not a model.

    It lets the solver's own terms (:class:`~pinnopt.losses.Evaluation`) be evaluated on a
    numeric exact solution: the model argument is ignored, every field of the plan comes from
    :func:`derivative` with steps multiplied by ``factor``.
    """

    name = "finite differences"

    def __init__(
        self, fn: ValuesFn, bounds: tuple[Sequence[float], Sequence[float]], *, factor: float = 1.0
    ) -> None:
        self.fn = fn
        self.bounds = bounds
        self.factor = float(factor)

    def evaluate(
        self,
        model: nn.Module,
        points: torch.Tensor,
        plan: DerivativePlan,
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[Field, torch.Tensor]:
        pts = points.detach().cpu().double().numpy()
        values = derivative(self.fn, pts, plan.wanted, self.bounds, factor=self.factor)
        return {f: torch.as_tensor(v, dtype=points.dtype, device=points.device) for f, v in values.items()}
