"""The layout of the fused Taylor node: which derivative channels it carries, and the
operations that form them (:mod:`.fused` runs them).

A :class:`FusedLayout` is derived from a :class:`~.plan.TaylorPlan` of order at most
:data:`FUSED_MAX_ORDER`; :func:`program_of` turns it, once per layout, into the products the
forward pass forms and the terms the hand-written backward pass sums.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .plan import TaylorPlan

FUSED_MAX_ORDER = 4
"""Highest derivative order of the fused node; higher orders take the unfused engine."""

Groups = tuple[tuple[int, tuple[tuple[int, tuple[int, ...]], ...]], ...]


@dataclass(frozen=True)
class FusedLayout:
    """The derivative channels of a plan of order <= :data:`FUSED_MAX_ORDER`, stacked after the value.

    Channel ``c`` here is channel ``c + 1`` of the plan (the value is not a channel).

    Attributes:
        first_axes: the input coordinate of each first-order channel (channels ``0..F-1``).
        groups: for each higher channel (``F..C-1``), its Faa di Bruno groups
            ``((k, ((coeff, (channel, ...)), ...)), ...)``: the coefficient of ``s^(k)`` is
            ``sum coeff * prod D_channel z``.
        max_order: the highest order carried.
    """

    first_axes: tuple[int, ...]
    groups: tuple[Groups, ...]
    max_order: int

    @property
    def n_channels(self) -> int:
        """Derivative channels (first-order and higher; the value excluded)."""
        return len(self.first_axes) + len(self.groups)

    @staticmethod
    def from_plan(plan: TaylorPlan) -> FusedLayout | None:
        """The layout of ``plan``, or None when it carries orders above :data:`FUSED_MAX_ORDER`."""
        if plan.max_order > FUSED_MAX_ORDER:
            return None
        groups = tuple(
            tuple(
                (k, tuple((c, tuple(ch - 1 for ch in chans)) for c, chans in terms)) for k, terms in r.groups
            )
            for r in plan.rules
        )
        return FusedLayout(tuple(plan.first_axes), groups, plan.max_order)


@dataclass(frozen=True)
class Program:
    """The layout's operations, derived once: products to form and the backward's terms."""

    n_first: int
    n_channels: int
    top: int  # the highest derivative of the activation needed (max order + 1)
    forward: tuple[tuple[int, tuple[tuple[int, tuple[tuple[float, tuple[int, ...]], ...]], ...]], ...]
    # for each k: the channels c with a term P_{c,k} (Q_k = sum_c G_c P_{c,k})
    q_terms: tuple[tuple[int, tuple[int, ...]], ...]
    # for each channel j: ((k, ((c, coeff, rest), ...)), ...): T_{k,j} = sum coeff G_c prod(rest)
    backward: tuple[tuple[tuple[int, tuple[tuple[int, float, tuple[int, ...]], ...]], ...], ...]
    # the channels are the derivatives of orders 1..C along one axis (see :func:`_is_chain`)
    chain: bool = False


@functools.lru_cache(maxsize=64)
def program_of(layout: FusedLayout) -> Program:
    """The operations of ``layout`` (cached: a few layouts serve a whole run)."""
    nf = len(layout.first_axes)
    forward = []
    q: dict[int, list[int]] = {}
    back: dict[int, dict[int, dict[tuple[int, tuple[int, ...]], float]]] = {}
    for i, groups in enumerate(layout.groups):
        c = nf + i
        fwd = []
        for k, terms in groups:
            fwd.append((k, tuple((float(coeff), chans) for coeff, chans in terms)))
            q.setdefault(k, []).append(c)
            for coeff, chans in terms:
                for pos, j in enumerate(chans):
                    rest = chans[:pos] + chans[pos + 1 :]
                    slot = back.setdefault(j, {}).setdefault(k, {})
                    slot[(c, rest)] = slot.get((c, rest), 0.0) + float(coeff)
        forward.append((c, tuple(fwd)))
    backward = tuple(
        tuple(
            (k, tuple((c, coeff, rest) for (c, rest), coeff in sorted(back[j][k].items())))
            for k in sorted(back.get(j, {}))
        )
        for j in range(layout.n_channels)
    )
    return Program(
        nf,
        layout.n_channels,
        layout.max_order + 1,
        tuple(forward),
        tuple((k, tuple(cs)) for k, cs in sorted(q.items())),
        backward,
        _is_chain(layout),
    )


def _is_chain(layout: FusedLayout) -> bool:
    """Whether channel ``c`` is the derivative of order ``c + 1`` along the one input axis:
    one first-order channel, and the highest term of every higher channel ``c`` is
    ``s^(c+1) (D_0 z)^(c+1)`` (the Faa di Bruno rule of order ``c + 1``)."""
    if len(layout.first_axes) != 1 or layout.n_channels != layout.max_order:
        return False
    for i, groups in enumerate(layout.groups):
        order = i + 2
        k, terms = max(groups)
        if k != order or len(terms) != 1 or terms[0][1] != (0,) * order:
            return False
    return True
