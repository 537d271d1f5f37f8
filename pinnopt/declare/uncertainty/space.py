"""Declaring uncertain coefficients, and the joint space of all of them.

``po.Uncertain(k, po.robust.BoxSet(0.9, 1.1))`` declares the sympy symbol ``k`` uncertain;
``po.Uncertain((a, b), po.robust.Ellipsoid(...))`` declares two correlated ones. A problem's
uncertain coefficients form an :class:`UncertaintySpace`: the product of the declared
sets, one flat vector ``xi`` in declaration order, which inner maximizers search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
import torch

from ...errors import ProblemError
from .sets import ArrayLike, UncertaintySet


@dataclass(frozen=True, eq=False)
class Uncertain:
    """Uncertain coefficients: sympy symbols whose values lie somewhere in a set.

    Args:
        symbols: one sympy Symbol, or a tuple of them for a joint set (ellipsoid, budget).
        set: the uncertainty set, of dimension ``len(symbols)``.
        nominal: the value used by nominal (non-robust) terms and solves; default the
            set's centre (the first case of a :class:`~pinnopt.robust.Scenarios` set).
    """

    symbols: sp.Symbol | Sequence[sp.Symbol]
    set: UncertaintySet
    nominal: ArrayLike | None = None

    def __post_init__(self) -> None:
        syms = (self.symbols,) if isinstance(self.symbols, sp.Basic) else tuple(self.symbols)
        if not syms or not all(isinstance(s, sp.Symbol) for s in syms):
            raise ProblemError(f"Uncertain needs sympy Symbols, got {self.symbols!r}")
        if len(set(syms)) != len(syms):
            raise ProblemError(f"Uncertain: symbols {[str(s) for s in syms]} repeat a symbol")
        if not isinstance(self.set, UncertaintySet):
            raise ProblemError(
                f"Uncertain {[str(s) for s in syms]}: set must be a po.robust.BoxSet, po.robust.Ellipsoid, "
                f"po.robust.Budget or po.robust.Scenarios, got {type(self.set).__name__}"
            )
        if self.set.dim != len(syms):
            raise ProblemError(
                f"Uncertain {[str(s) for s in syms]}: {len(syms)} symbols but the set {self.set} has "
                f"dimension {self.set.dim}; expected one symbol per coordinate of the set"
            )
        nominal = self.set.nominal if self.nominal is None else np.atleast_1d(np.asarray(self.nominal, float))
        if nominal.shape != (len(syms),) or not np.isfinite(nominal).all():
            raise ProblemError(
                f"Uncertain {[str(s) for s in syms]}: nominal={self.nominal!r}; "
                f"expected {len(syms)} finite numbers"
            )
        if not self.set.contains(nominal, tol=1e-9):
            raise ProblemError(
                f"Uncertain {[str(s) for s in syms]}: the nominal value {nominal.tolist()} "
                f"lies outside {self.set}"
            )
        object.__setattr__(self, "symbols", syms)
        object.__setattr__(self, "nominal", nominal)

    @property
    def names(self) -> tuple[str, ...]:
        """The symbols' names."""
        return tuple(str(s) for s in self.symbols)  # type: ignore[union-attr]


def normalize_uncertain(spec: Any) -> tuple[Uncertain, ...]:
    """Accept ``{symbol: set}``, ``{(a, b): set}``, one :class:`Uncertain` or a list of them."""
    if spec is None:
        return ()
    if isinstance(spec, Uncertain):
        return (spec,)
    if isinstance(spec, Mapping):
        return tuple(Uncertain(k, v) for k, v in spec.items())
    try:
        items = tuple(spec)
    except TypeError as exc:
        raise ProblemError(
            f"Problem.uncertain must be a dict {{symbol: set}} or a list of po.Uncertain, got {spec!r}"
        ) from exc
    for it in items:
        if not isinstance(it, Uncertain):
            raise ProblemError(f"Problem.uncertain items must be po.Uncertain(symbol, set), got {it!r}")
    names = [n for it in items for n in it.names]
    if len(set(names)) != len(names):
        raise ProblemError(f"uncertain coefficients declared twice: {names}")
    return items


class UncertaintySpace:
    """The product of the declared sets: one flat vector ``xi`` of all uncertain coefficients."""

    def __init__(self, blocks: Sequence[Uncertain]) -> None:
        self.blocks = tuple(blocks)
        if not self.blocks:
            raise ProblemError("an uncertainty space needs at least one uncertain coefficient")
        self.names = tuple(n for b in self.blocks for n in b.names)
        self.dim = len(self.names)
        self.nominal = np.concatenate([np.asarray(b.nominal, float) for b in self.blocks])
        starts = np.cumsum([0] + [b.set.dim for b in self.blocks])
        self.slices = tuple(slice(int(a), int(b)) for a, b in itertools.pairwise(starts))

    def restrict(self, names: Sequence[str]) -> UncertaintySpace:
        """The sub-space of the blocks that contain any of ``names`` (joint sets stay whole)."""
        keep = [b for b in self.blocks if set(b.names) & set(names)]
        return UncertaintySpace(keep)

    @property
    def finite(self) -> bool:
        """True when every block is a finite set."""
        return all(b.set.finite for b in self.blocks)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box of the product."""
        lo, hi = zip(*(b.set.bounds() for b in self.blocks), strict=True)
        return np.concatenate(lo), np.concatenate(hi)

    def scale(self) -> np.ndarray:
        """Per-coordinate half-widths (1 where a coordinate is fixed)."""
        return np.concatenate([b.set.scale() for b in self.blocks])

    def project(self, xi: torch.Tensor) -> torch.Tensor:
        """Project each row blockwise (the product's Euclidean projection)."""
        return torch.cat([b.set.project(xi[:, s]) for b, s in zip(self.blocks, self.slices, strict=True)], 1)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` points, float64 on the generator's device."""
        return torch.cat([b.set.sample(n, generator) for b in self.blocks], 1)

    def contains(self, xi: ArrayLike, tol: float = 1e-9) -> np.ndarray:
        """Row-wise membership of ``(K, dim)`` points."""
        rows = np.asarray(xi, dtype=np.float64).reshape(-1, self.dim)
        ok = np.ones(len(rows), dtype=bool)
        for b, s in zip(self.blocks, self.slices, strict=True):
            ok &= b.set._contains(rows[:, s], tol)
        return ok

    def n_vertices(self) -> int | None:
        """Number of extreme points of the product, or None when some block has infinitely many."""
        counts = [b.set.n_vertices() for b in self.blocks]
        if any(c is None for c in counts):
            return None
        return math.prod(counts)  # type: ignore[arg-type]

    def vertices(self) -> np.ndarray | None:
        """Extreme points of the product (all combinations of the blocks' extreme points)."""
        per = [b.set.vertices() for b in self.blocks]
        if any(v is None for v in per):
            return None
        return np.array([np.concatenate(c) for c in itertools.product(*per)], dtype=np.float64)

    def dense(self, n: int, generator: torch.Generator) -> np.ndarray:
        """About ``n`` points covering the product (grids per block, combined)."""
        if len(self.blocks) == 1:
            return self.blocks[0].set.dense(n, generator)
        per_block = max(2, int(n ** (1.0 / len(self.blocks))))
        parts = [b.set.dense(per_block, generator) for b in self.blocks]
        total = math.prod(len(p) for p in parts)
        if total <= 4 * n:
            return np.array([np.concatenate(c) for c in itertools.product(*parts)], dtype=np.float64)
        pts = [self.sample(n, generator).cpu().numpy(), self.nominal[None]]
        v = self.n_vertices()
        if v is not None and v <= n:
            pts.insert(0, self.vertices())
        return np.concatenate(pts)

    def as_dict(self, xi: ArrayLike) -> dict[str, float]:
        """``{name: value}`` of one point."""
        arr = np.asarray(xi, dtype=np.float64).reshape(-1)
        return {n: float(v) for n, v in zip(self.names, arr, strict=True)}

    def describe(self) -> str:
        """e.g. ``k in BoxSet(0.9, 1.5)``."""
        return "; ".join(f"{', '.join(b.names)} in {b.set}" for b in self.blocks)

    def __repr__(self) -> str:
        return f"UncertaintySpace({self.describe()})"
