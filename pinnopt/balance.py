"""Loss weighting: term weights, per-point weights and causal (time-slab) weights (``po.balance``).

``po.solve(problem, strategies=[po.balance.LRAnnealing()])``; see docs/strategies.md.
"""

from .strategies.adaptive import SelfAdaptive
from .strategies.balancers import GradNorm, LRAnnealing, NTKWeights, ReLoBRaLo
from .strategies.balancing import Balancer, FixedWeights
from .strategies.causal import Causal

__all__ = [
    "Balancer",
    "Causal",
    "FixedWeights",
    "GradNorm",
    "LRAnnealing",
    "NTKWeights",
    "ReLoBRaLo",
    "SelfAdaptive",
]
