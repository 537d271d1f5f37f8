"""Opt-in ``torch.compile`` of the objective (``Trainer(compile=True)``, ``solve(compile=True)``).

The compiled function is the objective's forward pass (model and derivatives on every point
set, residuals, term losses, weighted total); ``torch.compile`` also generates its backward.
Compilation happens at the first step and takes tens of seconds on a CPU (C++ code
generation), so it pays for long runs: it removes the per-operation overhead of eager mode and
fuses the elementwise work of the derivative channels. Under compilation the Taylor engine
traces its plain operations instead of its hand-fused node (the compiler fuses them itself).

``compile`` may also be a dict of ``torch.compile`` options, e.g. ``{"backend": "aot_eager"}``
(traces and differentiates the graph without code generation: quick, for checking) or
``{"mode": "max-autotune"}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from ..errors import ConfigError
from ..losses import Objective

LossFn = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def compile_options(compile: Any) -> dict[str, Any] | None:
    """Check the ``compile`` argument; return the ``torch.compile`` options, or None when off."""
    if compile is False or compile is None:
        return None
    if compile is True:
        return {}
    if isinstance(compile, Mapping) and all(isinstance(k, str) for k in compile):
        return dict(compile)
    raise ConfigError(
        f"compile={compile!r}: expected True, False or a dict of torch.compile options "
        "such as {'backend': 'aot_eager'}"
    )


def compiled_objective(objective: Objective, compile: Any) -> LossFn | None:
    """The ``torch.compile``d call of ``objective`` when ``compile`` asks for it, else None."""
    options = compile_options(compile)
    if options is None:
        return None
    return torch.compile(objective.__call__, **options)
