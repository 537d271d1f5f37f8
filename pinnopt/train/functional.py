"""A module wrapper that lets ``torch.func.functional_call`` swap a model's parameters around any
function of it (used for the per-point Jacobians of the second-order phases)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn


class FunctionalCall(nn.Module):
    """Runs ``fn`` inside ``functional_call`` so that the model's parameters are swapped: the
    wrapped ``model`` is a submodule, so its parameters are this module's ``model.*``."""

    def __init__(self, model: nn.Module, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, *args: Any) -> Any:
        """``fn(*args)``."""
        return self.fn(*args)
