"""Derivative keys: which derivative of which unknown a compiled expression needs."""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp


class Field(NamedTuple):
    """One derivative of one unknown: ``orders[j]`` is the order in coordinate ``j``.

    ``Field("u", (0, 0))`` is u itself, ``Field("u", (2, 1))`` is u_xxt in a problem
    with coordinates (x, t). Mixed partials commute, so the multi-index is canonical.
    """

    unknown: str
    orders: tuple[int, ...]

    @property
    def order(self) -> int:
        """Total derivative order."""
        return sum(self.orders)

    def label(self, coordinates: tuple[sp.Symbol, ...] | tuple[str, ...]) -> str:
        """A readable name such as ``u``, ``u_x`` or ``u_xxt``."""
        names = [str(c) for c in coordinates]
        suffix = "".join(n * k for n, k in zip(names, self.orders, strict=True))
        return f"{self.unknown}_{suffix}" if suffix else self.unknown

    def lowered(self, axis: int) -> Field:
        """The same unknown with one order less in ``axis``."""
        orders = list(self.orders)
        if orders[axis] == 0:
            raise ValueError(f"{self} has no derivative in axis {axis} to lower")
        orders[axis] -= 1
        return Field(self.unknown, tuple(orders))

    @staticmethod
    def value(unknown: str, dim: int) -> Field:
        """The undifferentiated unknown."""
        return Field(unknown, (0,) * dim)
