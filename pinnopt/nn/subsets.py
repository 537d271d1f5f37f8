"""Unknowns that depend on only some coordinates, e.g. a coefficient field ``a(x)`` in space-time."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class CoordinateSubsets(nn.Module):
    """One network per group of unknowns that share their coordinates.

    The input is always every coordinate ``(N, dim)``; each group's network sees only its
    columns, so an unknown ``a(x)`` has no dependence (and a zero derivative) in ``t``.

    Args:
        groups: ``(input columns, output columns, network)`` per group.
        n_out: total number of unknowns (output columns).
    """

    def __init__(self, groups: Sequence[tuple[Sequence[int], Sequence[int], nn.Module]], n_out: int) -> None:
        super().__init__()
        self.nets = nn.ModuleList(net for _, _, net in groups)
        self.inputs = [list(i) for i, _, _ in groups]
        self.outputs = [list(o) for _, o, _ in groups]
        self.n_out = int(n_out)
        covered = sorted(c for o in self.outputs for c in o)
        if covered != list(range(self.n_out)):
            raise ValueError(f"output columns {covered} do not cover 0..{self.n_out - 1} exactly once")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols: list[torch.Tensor | None] = [None] * self.n_out
        for inp, outp, net in zip(self.inputs, self.outputs, self.nets, strict=True):
            xi = x if inp == list(range(x.shape[1])) else x[:, inp]
            y = net(xi)
            for k, c in enumerate(outp):
                cols[c] = y[:, k]
        return torch.stack(cols, dim=1)  # type: ignore[arg-type]
