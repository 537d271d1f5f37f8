"""The combinatorial part of Taylor mode: which derivative channels to carry and how to combine them.

For a smooth activation ``s`` applied elementwise to ``z(x)``, the multivariate Faa di Bruno
formula writes every mixed partial of ``s(z)`` through the partials of ``z``::

    D^a s(z) = sum over set partitions P of the multiset a:  s^(|P|)(z) * prod_{B in P} D^B z

A partition is identified by the multiset of multi-indices of its blocks, so equal terms are
merged with an integer coefficient. :class:`TaylorPlan` computes this once per set of wanted
multi-indices; the engine only runs tensor operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

MultiIndex = tuple[int, ...]


def lower_closure(indices: Iterable[MultiIndex]) -> tuple[MultiIndex, ...]:
    """All multi-indices ``b <= a`` (componentwise) of some ``a`` in ``indices``.

    Sorted by total order, then lexicographically descending, so the value comes first and
    the first-order channels ``e_0, e_1, ...`` follow it contiguously in coordinate order.
    """
    closed: set[MultiIndex] = set()
    stack = list(indices)
    while stack:
        a = stack.pop()
        if a in closed:
            continue
        closed.add(a)
        for j, k in enumerate(a):
            if k > 0:
                stack.append((*a[:j], k - 1, *a[j + 1 :]))
    return tuple(sorted(closed, key=lambda a: (sum(a), tuple(-k for k in a))))


def _set_partitions(items: list[int]) -> Iterator[list[list[int]]]:
    """Every partition of ``items`` (positions are distinct even when values repeat)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _set_partitions(rest):
        for i in range(len(partition)):
            yield [*partition[:i], [first, *partition[i]], *partition[i + 1 :]]
        yield [[first], *partition]


@dataclass(frozen=True)
class ChannelRule:
    """How channel ``index`` of an activation's output is built.

    Attributes:
        index: position of the multi-index in :attr:`TaylorPlan.indices`.
        groups: ``(k, ((coefficient, (channel, ...)), ...))`` for every number of blocks
            ``k >= 2``: the coefficient of ``s^(k)(z)`` is ``sum coefficient * prod z[channel]``.
            The single-block term ``s'(z) * z[index]`` is implicit.
    """

    index: int
    groups: tuple[tuple[int, tuple[tuple[int, tuple[int, ...]], ...]], ...]


@dataclass(frozen=True)
class TaylorPlan:
    """Channels and Faa di Bruno rules for one set of wanted multi-indices.

    Attributes:
        dim: number of input coordinates.
        indices: the carried multi-indices (lower closure of the wanted ones), value first.
        n_first: number of first-order channels (they follow the value, in coordinate order).
        first_axes: the coordinate of each first-order channel.
        rules: one :class:`ChannelRule` per channel of order >= 2, in channel order.
        max_order: the highest total order carried.
        position: channel position of every carried multi-index.
    """

    dim: int
    indices: tuple[MultiIndex, ...]
    n_first: int
    first_axes: tuple[int, ...]
    rules: tuple[ChannelRule, ...]
    max_order: int
    position: Mapping[MultiIndex, int] = field(default_factory=dict, compare=False)

    @staticmethod
    def build(wanted: Iterable[MultiIndex], dim: int) -> TaylorPlan:
        """Close ``wanted`` under lowering and derive the Faa di Bruno rule of every channel."""
        wanted = list(wanted)
        if any(len(a) != dim for a in wanted):
            raise ValueError(f"multi-indices {wanted} do not all have length {dim}")
        indices = lower_closure([*wanted, (0,) * dim])
        position = {a: i for i, a in enumerate(indices)}
        first = [a for a in indices if sum(a) == 1]
        first_axes = tuple(a.index(1) for a in first)
        rules = []
        for a in indices:
            if sum(a) < 2:
                continue
            axes = [j for j, k in enumerate(a) for _ in range(k)]
            counts: dict[int, Counter[tuple[int, ...]]] = {}
            for partition in _set_partitions(axes):
                if len(partition) < 2:
                    continue
                blocks = []
                for block in partition:
                    b = [0] * dim
                    for j in block:
                        b[j] += 1
                    blocks.append(position[tuple(b)])
                counts.setdefault(len(partition), Counter())[tuple(sorted(blocks))] += 1
            groups = tuple(
                (k, tuple((c, chans) for chans, c in sorted(counts[k].items()))) for k in sorted(counts)
            )
            rules.append(ChannelRule(position[a], groups))
        max_order = max(sum(a) for a in indices)
        return TaylorPlan(dim, indices, len(first), first_axes, tuple(rules), max_order, position)
