"""The sympy -> torch function table.

A :class:`FunctionTable` maps the name of a sympy function (``"sin"``, ``"Heaviside"``,
or the name of a user's ``sp.Function("f")``) to a torch callable taking tensors and
returning a tensor. The default table is read-only; extend it without touching global
state::

    table = DEFAULT_FUNCTIONS.extended(besselj0=torch.special.bessel_j0)
    problem = po.Problem(..., functions={"f": lambda x: torch.exp(-x * x)})
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

import torch

from ..errors import ConfigError

TorchFunction = Callable[..., torch.Tensor]


def _heaviside(x: torch.Tensor, h0: float | torch.Tensor = 0.5) -> torch.Tensor:
    half = torch.as_tensor(h0, dtype=x.dtype, device=x.device).expand_as(x)
    return torch.heaviside(x, half)


def _min(*args: torch.Tensor | float) -> torch.Tensor:
    out = torch.as_tensor(args[0])
    for a in args[1:]:
        out = torch.minimum(out, torch.as_tensor(a))
    return out


def _max(*args: torch.Tensor | float) -> torch.Tensor:
    out = torch.as_tensor(args[0])
    for a in args[1:]:
        out = torch.maximum(out, torch.as_tensor(a))
    return out


def _as_tensor_fn(fn: Callable[[torch.Tensor], torch.Tensor]) -> TorchFunction:
    def wrapped(x: torch.Tensor | float) -> torch.Tensor:
        return fn(torch.as_tensor(x))

    wrapped.__name__ = getattr(fn, "__name__", "fn")
    return wrapped


_DEFAULTS: dict[str, TorchFunction] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "cot": lambda x: 1.0 / torch.tan(x),
    "sec": lambda x: 1.0 / torch.cos(x),
    "csc": lambda x: 1.0 / torch.sin(x),
    "asin": torch.asin,
    "acos": torch.acos,
    "atan": torch.atan,
    "atan2": torch.atan2,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "asinh": torch.asinh,
    "acosh": torch.acosh,
    "atanh": torch.atanh,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "Abs": torch.abs,
    "sign": torch.sign,
    "floor": torch.floor,
    "ceiling": torch.ceil,
    "erf": torch.erf,
    "erfc": torch.erfc,
    "Heaviside": _heaviside,
    "Min": _min,
    "Max": _max,
}


class FunctionTable(Mapping[str, TorchFunction]):
    """A read-only mapping from sympy function names to torch callables."""

    def __init__(self, entries: Mapping[str, TorchFunction] | None = None) -> None:
        merged: dict[str, TorchFunction] = {}
        for name, fn in (entries or {}).items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"function table keys must be non-empty names, got {name!r}")
            if not callable(fn):
                raise ConfigError(
                    f"function table entry {name!r} must be a torch callable, got {type(fn).__name__}"
                )
            merged[name] = fn
        self._entries = MappingProxyType(merged)

    def __getitem__(self, name: str) -> TorchFunction:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def extended(
        self, entries: Mapping[str, TorchFunction] | None = None, **more: TorchFunction
    ) -> FunctionTable:
        """Return a new table with ``entries`` and ``more`` added (they win over existing names)."""
        merged = dict(self._entries)
        merged.update(entries or {})
        merged.update(more)
        return FunctionTable(merged)

    def __repr__(self) -> str:
        return f"FunctionTable({sorted(self._entries)})"


DEFAULT_FUNCTIONS = FunctionTable(_DEFAULTS)
"""The built-in table: trigonometric, hyperbolic, exponential, Abs, sign, Heaviside, Min, Max..."""
