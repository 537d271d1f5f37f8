"""The strategy keywords of :func:`pinnopt.solve`: checking them and recording them in the config."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .adaptive import SelfAdaptive
from .balancing import Balancer
from .base import Strategy
from .causal import Causal
from .curriculum import Curriculum

_KINDS: dict[str, tuple[type, ...]] = {
    "curriculum": (Curriculum,),
    "causal": (Causal,),
    "balance": (Balancer, SelfAdaptive),
}
"""Each keyword, in the order strategies are applied, and the classes it takes."""

_EXAMPLES = {
    "curriculum": "po.Curriculum(beta, 1, 30)",
    "causal": "po.Causal(slabs=32)",
    "balance": "po.LRAnnealing(), po.GradNorm(), po.NTKWeights(), po.ReLoBRaLo(), po.SelfAdaptive()",
}


def collect_strategies(**options: Any) -> list[Strategy]:
    """The given strategies in the order they apply (curriculum, causal, balance); checks types."""
    out: list[Strategy] = []
    for key, classes in _KINDS.items():
        value = options.pop(key, None)
        if value is None:
            continue
        if not isinstance(value, classes):
            raise ConfigError(f"{key}={value!r}: expected e.g. {_EXAMPLES[key]}")
        out.append(value)
    if options:
        raise ConfigError(f"unknown strategy options {sorted(options)}")
    return out


def strategies_config(strategies: list[Strategy], model_config: dict[str, Any] | None) -> dict[str, Any]:
    """``{keyword: spec config}`` plus the model's input embedding, for ``Result.config``."""
    out: dict[str, Any] = {s.option: s.config() for s in strategies}
    emb = (model_config or {}).get("embedding")
    if emb is not None:
        out["embedding"] = emb
    return out
