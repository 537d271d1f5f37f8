"""Batching strategies: which points each optimizer update sees.

``FullBatch()`` uses every point of every point set per update (an epoch is one update).
``MiniBatch(size=b)`` draws ``b`` points from EACH point set per update (fewer when a set
has fewer points); an epoch is one pass over the largest set, ``ceil(N_max / b)`` updates,
and smaller sets are cycled through reshuffled passes so that every update has the same
shape. ``MiniBatch(size=1)`` is stochastic gradient descent (one point per set per update).
With ``scale_lr=True`` the learning rate is scaled by the points drawn from the largest set,
``min(b, N_max) / 32`` (``N_max`` after ``subset``, at the start of the run); a ``b`` of at
least ``N_max`` is full batch, and the trainer warns about it (:func:`oversize_note`).
Both accept ``subset=f``: each epoch first draws a random fraction ``f`` of every set, then
batches from it. Per-point data (normals, observations, weights) travels with its points.

Indices are drawn on the points' device from the trainer's seeded generator at the start
of each epoch, so an update costs one gather per point set and no host synchronization.
"""

from __future__ import annotations

import abc
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigError, PinnoptWarning
from ..losses import PointSet

LR_SCALING_BASE = 32
"""The batch size at which ``MiniBatch(scale_lr=True)`` leaves the learning rate unchanged."""


def _check_subset(owner: str, subset: Any) -> None:
    if subset is None:
        return
    ok = isinstance(subset, (int, float)) and not isinstance(subset, bool)
    if not (ok and 0.0 < subset <= 1.0):
        raise ConfigError(f"{owner}(subset={subset!r}): expected a fraction in (0, 1] or None")


class Batching(abc.ABC):
    """Base class of batching strategies."""

    subset: float | None

    @property
    def trivial(self) -> bool:
        """True when every update sees all points unchanged (no indexing at all)."""
        return False

    def lr_factor(self, sizes: Iterable[int] = ()) -> float:
        """The factor applied to the learning rate by the batch-size scaling rule (1 if off).

        ``sizes``: the sizes of the batched point sets (without them, the nominal batch size).
        """
        return 1.0

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the result's config."""


@dataclass(frozen=True)
class FullBatch(Batching):
    """All points per update; with ``subset=f`` a fresh random fraction ``f`` per update."""

    subset: float | None = None

    def __post_init__(self) -> None:
        _check_subset("FullBatch", self.subset)

    @property
    def trivial(self) -> bool:
        return self.subset is None or self.subset == 1.0

    def describe(self) -> dict[str, Any]:
        return {"kind": "full", "subset": self.subset}


@dataclass(frozen=True)
class MiniBatch(Batching):
    """``size`` points from each point set per update; an epoch is one pass over the largest set.

    Args:
        size: points drawn from each point set per update (default 32; 1 gives SGD).
        subset: draw a random fraction of each set at each epoch start, then batch from it.
        scale_lr: apply the batch-size scaling rule ``lr' = lr * b / 32`` with ``b`` the points
            drawn per update from the largest point set, ``min(size, N_max)`` (recorded in the
            result's config).
    """

    size: int = 32
    subset: float | None = None
    scale_lr: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ConfigError(f"MiniBatch(size={self.size!r}): expected an int >= 1")
        _check_subset("MiniBatch", self.subset)
        if not isinstance(self.scale_lr, bool):
            raise ConfigError(f"MiniBatch(scale_lr={self.scale_lr!r}): expected True or False")

    def drawn(self, sizes: Iterable[int] = ()) -> int:
        """Points drawn per update from the largest of point sets of ``sizes`` (after ``subset``):
        ``size``, or that set's size when it has fewer points (``size`` without ``sizes``)."""
        largest = _largest(sizes, self.subset)
        return self.size if largest is None else min(self.size, largest)

    def lr_factor(self, sizes: Iterable[int] = ()) -> float:
        return self.drawn(sizes) / LR_SCALING_BASE if self.scale_lr else 1.0

    def describe(self) -> dict[str, Any]:
        return {"kind": "mini", "size": self.size, "subset": self.subset, "scale_lr": self.scale_lr}


def _subset_size(n: int, subset: float | None) -> int:
    return n if subset is None else max(1, round(subset * n))


def _largest(sizes: Iterable[int], subset: float | None) -> int | None:
    """The largest of the point sets of ``sizes`` after ``subset`` (None without sets)."""
    return max((_subset_size(n, subset) for n in sizes), default=None)


def oversize_note(spec: Batching, sizes: Mapping[str, int]) -> str | None:
    """Why ``spec`` is full batch in disguise: a ``MiniBatch`` whose size is at least the
    largest point set's (after ``subset``), so that every update uses whole sets; else None."""
    if not isinstance(spec, MiniBatch) or not sizes:
        return None
    largest = _largest(sizes.values(), spec.subset)
    if largest is None or spec.size < largest:
        return None
    listing = ", ".join(f"{name} {n}" for name, n in sizes.items())
    if spec.subset is None:
        what = "whole sets, as FullBatch()"
    else:
        listing += f"; subset={spec.subset} keeps {largest} of the largest"
        what = f"the epoch's whole subset of each set, as FullBatch(subset={spec.subset})"
    note = (
        f"MiniBatch({spec.size}) is at least the largest point set (points per set: {listing}): "
        f"every update uses {what}"
    )
    if spec.scale_lr:
        note += (
            f"; scale_lr scales the learning rate by the {largest} points drawn "
            f"(x{largest / LR_SCALING_BASE:g}), not by {spec.size}"
        )
    return note


def warn_oversized(specs: Iterable[Batching], sizes: Mapping[str, int], *, stacklevel: int = 2) -> None:
    """A :class:`~pinnopt.errors.PinnoptWarning` per distinct spec that :func:`oversize_note`
    describes (the gradient phases' batching on point sets of ``sizes``)."""
    seen: list[Batching] = []
    for spec in specs:
        if spec in seen:
            continue
        seen.append(spec)
        note = oversize_note(spec, sizes)
        if note is not None:
            note += " (recorded in result.config['learning_rates'])"
            warnings.warn(note, PinnoptWarning, stacklevel=stacklevel + 1)


def lr_record(spec: Batching, sizes: Mapping[str, int]) -> dict[str, Any]:
    """What ``result.config["learning_rates"]`` records about a gradient phase's batching:
    the spec, the points drawn per update from the largest set, the learning-rate factor and,
    when the mini-batch is no smaller than the sets, the note the trainer warned with."""
    out: dict[str, Any] = {"batch": spec.describe()}
    if isinstance(spec, MiniBatch):
        out["batch_drawn"] = spec.drawn(sizes.values())
    out["batch_lr_factor"] = spec.lr_factor(sizes.values())
    note = oversize_note(spec, sizes)
    if note is not None:
        out["batch_note"] = note
    return out


def steps_per_epoch(spec: Batching, sizes: Sequence[int]) -> int:
    """Updates per epoch of ``spec`` on point sets of the given sizes (1 for full batch)."""
    if spec.trivial or not isinstance(spec, MiniBatch) or not sizes:
        return 1
    return math.ceil(max(_subset_size(n, spec.subset) for n in sizes) / spec.size)


class BatchStream:
    """The running state of a batching strategy within one phase (checkpointed).

    Args:
        spec: the strategy.
        names: the point sets to batch (others pass through unchanged).
        generator: the seeded generator that draws the indices (on the points' device).
    """

    def __init__(self, spec: Batching, names: Sequence[str], generator: torch.Generator) -> None:
        self.spec = spec
        self.names = tuple(names)
        self.generator = generator
        self.pos = 0
        self.length = 0
        self.index: dict[str, torch.Tensor] = {}
        self.offset: dict[str, int] = {}
        self._src: dict[str, PointSet] = {}

    @property
    def epoch_done(self) -> bool:
        """True right after the last update of an epoch."""
        return self.spec.trivial or (self.length > 0 and self.pos >= self.length)

    @property
    def in_epoch(self) -> bool:
        """True when an epoch is under way (some but not all of its updates done)."""
        return not self.spec.trivial and 0 < self.pos < self.length

    def next(self, points: Mapping[str, PointSet]) -> Mapping[str, PointSet]:
        """The point sets of the next update."""
        if self.spec.trivial:
            return points
        if self.length == 0 or self.pos >= self.length:
            self._new_epoch(points)
        else:
            for name in self.names:
                if points[name] is not self._src.get(name):  # a hook replaced this set
                    self._draw(name, points[name], self.pos)
        out = dict(points)
        for name in self.names:
            out[name] = points[name].take(self.index[name][self.pos - self.offset[name]])
        self.pos += 1
        return out

    def adopt(self, points: Mapping[str, PointSet]) -> None:
        """Take ``points`` as the sets the current indices refer to (after a restore)."""
        self._src = {name: points[name] for name in self.names}

    # -- drawing ------------------------------------------------------------------------------
    def _randperm(self, n: int) -> torch.Tensor:
        return torch.randperm(n, generator=self.generator, device=self.generator.device)

    def _new_epoch(self, points: Mapping[str, PointSet]) -> None:
        subset = self.spec.subset
        if isinstance(self.spec, MiniBatch):
            largest = max(_subset_size(len(points[n]), subset) for n in self.names)
            self.length = math.ceil(largest / self.spec.size)
        else:
            self.length = 1
        self.pos = 0
        for name in self.names:
            self._draw(name, points[name], 0)

    def _draw(self, name: str, ps: PointSet, start: int) -> None:
        """Indices of set ``name`` for updates ``start .. length-1`` of the current epoch."""
        n = len(ps)
        if n == 0:
            raise ConfigError(f"point set {name!r} is empty; batching needs at least one point")
        m = _subset_size(n, self.spec.subset)
        b = min(self.spec.size, m) if isinstance(self.spec, MiniBatch) else m
        rows = self.length - start
        pool = self._randperm(n)[:m] if m < n else None
        need = rows * b
        perms = []
        for _ in range(math.ceil(need / m)):
            p = self._randperm(m)
            perms.append(p if pool is None else pool[p])
        self.index[name] = torch.cat(perms)[:need].view(rows, b)
        self.offset[name] = start
        self._src[name] = ps

    # -- checkpointing ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Position and indices of the current epoch (tensors and numbers only)."""
        return {
            "pos": self.pos,
            "length": self.length,
            "index": {k: v.clone() for k, v in self.index.items()},
            "offset": dict(self.offset),
        }

    def load_state_dict(self, state: Mapping[str, Any], points: Mapping[str, PointSet]) -> None:
        """Restore what :meth:`state_dict` saved; ``points`` are the sets the indices refer to."""
        device = self.generator.device
        self.pos = int(state["pos"])
        self.length = int(state["length"])
        self.index = {k: v.to(device) for k, v in state["index"].items()}
        self.offset = {k: int(v) for k, v in state["offset"].items()}
        self.adopt(points)
