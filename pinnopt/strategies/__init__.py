"""Training strategies for hard problems: loss balancing, causal training, curricula, time-marching.

Each strategy is a keyword option of :func:`pinnopt.solve`:

- ``balance=``: :class:`FixedWeights`, :class:`LRAnnealing`, :class:`GradNorm`,
  :class:`NTKWeights`, :class:`ReLoBRaLo` (term weights) or :class:`SelfAdaptive`
  (per-point weights, a min-max);
- ``causal=``: :class:`Causal` (time-slab weights with an ``eps`` schedule);
- ``curriculum=``: :class:`Curriculum` (raise a coefficient during training);
- time-marching is a workflow on top of solve: :func:`pinnopt.march` (:mod:`pinnopt.workflows`).

Exact periodicity is a model option: ``po.nn.MLP(embedding=po.nn.PeriodicEmbedding(("x",)))``.
See docs/strategies.md.
"""

from .adaptive import SelfAdaptive, SelfAdaptiveTerm
from .balancers import GradNorm, LRAnnealing, NTKWeights, ReLoBRaLo
from .balancing import BalanceHook, Balancer, FixedWeights
from .base import Assembly, Strategy, apply_strategies
from .causal import Causal, CausalTerm
from .curriculum import Curriculum
from .options import collect_strategies, strategies_config

__all__ = [
    "Assembly",
    "BalanceHook",
    "Balancer",
    "Causal",
    "CausalTerm",
    "Curriculum",
    "FixedWeights",
    "GradNorm",
    "LRAnnealing",
    "NTKWeights",
    "ReLoBRaLo",
    "SelfAdaptive",
    "SelfAdaptiveTerm",
    "Strategy",
    "apply_strategies",
    "collect_strategies",
    "strategies_config",
]
