"""The initialization subsystem (``po.init``): schemes, gains and transfer learning.

Use a scheme through a model spec, e.g. ``po.nn.MLP(init=po.init.KaimingNormal())``; see
:mod:`pinnopt.nn.initializers` for the formulas and docs/initialization.md for a guide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .activations import GAINS, gain
from .initializers import (
    SCHEMES,
    GlorotNormal,
    GlorotUniform,
    Initializer,
    KaimingNormal,
    KaimingUniform,
    LeCunNormal,
    LeCunUniform,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    Zero,
    linear_layers,
    scheme_from_config,
)
from .transfer import Transfer, load_state

__all__ = [
    "GAINS",
    "SCHEMES",
    "GlorotNormal",
    "GlorotUniform",
    "Initializer",
    "KaimingNormal",
    "KaimingUniform",
    "LeCunNormal",
    "LeCunUniform",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "Transfer",
    "Zero",
    "gain",
    "initializer_from_config",
    "linear_layers",
    "load_state",
]


def initializer_from_config(config: Mapping[str, Any] | None) -> Initializer | None:
    """Rebuild a scheme saved by :meth:`Initializer.config` (``None`` stays ``None``)."""
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise ConfigError(f"saved initialization must be a mapping, got {config!r}")
    if config.get("kind") == Transfer.kind:
        return Transfer.from_config(config)
    return scheme_from_config(config)
