"""What a compiled expression reads at run time (:class:`Env`) and the names it was compiled
against (:class:`SymbolContext`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import sympy as sp
import torch

from .fields import Field
from .functions import DEFAULT_FUNCTIONS, FunctionTable

Value = torch.Tensor | float
Node = Callable[["Env"], Value]


class Env:
    """What a compiled expression reads.

    Attributes:
        coords: one ``(N,)`` column per coordinate.
        fields: the unknowns and their derivatives, each ``(N,)``.
        scalars: named scalars (trainable parameters, uncertain coefficients).
        data: per-point tensors of the point set (outward normals, observations...).
    """

    __slots__ = ("coords", "data", "fields", "scalars")

    def __init__(
        self,
        coords: list[torch.Tensor] | tuple[torch.Tensor, ...],
        fields: Mapping[Field, torch.Tensor],
        scalars: Mapping[str, torch.Tensor | float],
        data: Mapping[str, torch.Tensor] | None = None,
    ) -> None:
        self.coords = coords
        self.fields = fields
        self.scalars = scalars
        self.data = data or {}


@dataclass(frozen=True)
class SymbolContext:
    """The names an expression may use, and how to map functions to torch.

    Attributes:
        coordinates: independent variables, in model-input order.
        unknowns: names of the unknown functions (model outputs).
        scalars: symbols that are read by name at evaluation time (trainable parameters,
            uncertain coefficients).
        constants: symbols with fixed numeric values, substituted at compile time.
        functions: the sympy -> torch function table; user-known functions such as
            ``sp.Function("f")(x)`` are looked up here by name.
        unknown_coordinates: for unknowns that depend on only some coordinates (a
            coefficient field ``a(x)`` in a space-time problem), the coordinates they take;
            the others take every coordinate.
    """

    coordinates: tuple[sp.Symbol, ...]
    unknowns: tuple[str, ...] = ()
    scalars: tuple[sp.Symbol, ...] = ()
    constants: Mapping[sp.Symbol, float] = field(default_factory=dict)
    functions: FunctionTable = field(default_factory=lambda: DEFAULT_FUNCTIONS)
    unknown_coordinates: Mapping[str, tuple[sp.Symbol, ...]] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """The number of coordinates."""
        return len(self.coordinates)

    def describe(self) -> str:
        """A one-line summary of the declared names, for error messages."""
        parts = [f"coordinates {_names(self.coordinates)}"]
        if self.unknowns:
            parts.append(f"unknowns {list(self.unknowns)}")
        if self.scalars:
            parts.append(f"parameters {_names(self.scalars)}")
        if self.constants:
            parts.append(f"constants {_names(self.constants)}")
        return ", ".join(parts)


def _names(symbols: Iterable[sp.Symbol]) -> list[str]:
    return [str(s) for s in symbols]
