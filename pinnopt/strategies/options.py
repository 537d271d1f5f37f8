"""The ``strategies=`` option of :func:`pinnopt.solve`: checking it and recording it in the config."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import ConfigError
from .adaptive import SelfAdaptive
from .balancing import Balancer
from .base import Strategy
from .causal import Causal
from .curriculum import Curriculum
from .sampling import SamplingHook

_KINDS: dict[str, tuple[type, ...]] = {
    "curriculum": (Curriculum,),
    "causal": (Causal,),
    "balance": (Balancer, SelfAdaptive),
}
"""Each keyword, in the order strategies are applied, and the classes it takes."""

_EXAMPLES = {
    "curriculum": "po.optim.Curriculum(beta, 1, 30)",
    "causal": "po.balance.Causal(slabs=32)",
    "balance": "po.balance.LRAnnealing() (or GradNorm, NTKWeights, ReLoBRaLo, SelfAdaptive, FixedWeights)",
}


def collect_strategies(items: Any) -> tuple[list[Strategy], list[SamplingHook]]:
    """Split ``solve(strategies=[...])`` into training strategies, in the order they apply
    (curriculum, causal, balance; at most one of each kind), and adaptive samplers. None
    entries are skipped.

    Raises:
        ConfigError: naming an item that is neither, or a second strategy of one kind.
    """
    if items is None:
        return [], []
    if isinstance(items, (Strategy, SamplingHook)):
        items = [items]
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ConfigError(f"strategies={items!r}: expected a list such as [po.balance.LRAnnealing()]")
    chosen: dict[str, Strategy] = {}
    samplers: list[SamplingHook] = []
    for item in items:
        if item is None:  # convenient in parametrized configurations
            continue
        if isinstance(item, SamplingHook):
            samplers.append(item)
            continue
        kind = next((k for k, classes in _KINDS.items() if isinstance(item, classes)), None)
        if kind is None:
            raise ConfigError(
                f"strategies: {item!r} is not a training strategy; expected e.g. {_EXAMPLES['balance']}, "
                f"{_EXAMPLES['causal']}, {_EXAMPLES['curriculum']} or an adaptive sampler po.sample.RAR()"
            )
        if kind in chosen:
            raise ConfigError(f"strategies: two {kind} strategies, {chosen[kind]!r} and {item!r}; keep one")
        chosen[kind] = item
    return [chosen[k] for k in _KINDS if k in chosen], samplers


def strategies_config(strategies: list[Strategy], model_config: dict[str, Any] | None) -> dict[str, Any]:
    """``{keyword: spec config}`` plus the model's input embedding, for ``Result.config``."""
    out: dict[str, Any] = {s.option: s.config() for s in strategies}
    emb = (model_config or {}).get("embedding")
    if emb is not None:
        out["embedding"] = emb
    return out
