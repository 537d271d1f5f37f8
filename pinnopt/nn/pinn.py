"""The trainable object: a network for the unknowns plus the trainable scalar parameters."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..declare.items import Parameter


class PINN(nn.Module):
    """A network mapping coordinates to the unknowns, and the problem's trainable scalars.

    Args:
        net: maps ``(N, dim)`` points to ``(N, len(unknowns))`` outputs.
        unknowns: output names, in column order.
        parameters: the problem's trainable scalars and their initial values.
    """

    def __init__(self, net: nn.Module, unknowns: Sequence[str], parameters: Sequence[Parameter] = ()) -> None:
        super().__init__()
        self.net = net
        self.unknowns = tuple(unknowns)
        # float64 here, so that a float64 run starts from the declared value exactly (init=0.1
        # is 0.1, not its float32 rounding); moving the PINN to float32 rounds it once.
        self.params = nn.ParameterDict(
            {p.name: nn.Parameter(torch.tensor(float(p.init), dtype=torch.float64)) for p in parameters}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def scalars(self) -> dict[str, torch.Tensor]:
        """The current values of the trainable scalars, by name."""
        return dict(self.params.items())

    def parameter_values(self) -> dict[str, float]:
        """The trainable scalars as Python floats (synchronizes with the device)."""
        return {k: float(v.detach()) for k, v in self.params.items()}
