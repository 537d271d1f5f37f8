"""Robust optimization: minimize the worst case of loss terms over uncertainty sets.

Declare uncertain coefficients on the problem, choose which terms are robust, solve::

    k = sp.Symbol("k")
    problem = po.Problem(..., uncertain=[po.Uncertain(k, po.robust.BoxSet(0.9, 1.5), nominal=1.0)])
    groups = [
        po.robust.Robust(["pde", "u0"], method=po.robust.GridSearch(9), aggregate=po.robust.Mean()),
        po.robust.Robust(["target"], method=po.robust.PGA()),
    ]
    result = po.solve(problem, model=po.robust.Parametric(po.nn.MLP()), robust=groups)
    print(result.robust)      # worst xi, nominal vs worst-case objective, dense certificate

See docs/robust.md.
"""

from ..declare.uncertainty.budget import Budget
from ..declare.uncertainty.ellipsoid import Ellipsoid
from ..declare.uncertainty.sets import BoxSet, Scenarios, UncertaintySet
from ..declare.uncertainty.space import Uncertain, UncertaintySpace, normalize_uncertain
from .evaluate import GroupEvaluator, ScalarView
from .inner import (
    PGA,
    CVaR,
    GridSearch,
    InnerMaximizer,
    LogSumExp,
    Max,
    Mean,
    Sampling,
    SearchContext,
    Vertices,
    default_method,
)
from .inner import Aggregate as Aggregate
from .parametric import Parametric, ParametricNet, is_parametric
from .report import CERTIFICATE_RTOL, GroupReport, RobustReport, price_of_robustness, robust_report
from .spec import Group, Robust, check_equalities, resolve, robust_terms
from .term import AtValues, RobustTerm

__all__ = [
    "CERTIFICATE_RTOL",
    "PGA",
    "Aggregate",
    "AtValues",
    "BoxSet",
    "Budget",
    "CVaR",
    "Ellipsoid",
    "GridSearch",
    "Group",
    "GroupEvaluator",
    "GroupReport",
    "InnerMaximizer",
    "LogSumExp",
    "Max",
    "Mean",
    "Parametric",
    "ParametricNet",
    "Robust",
    "RobustReport",
    "RobustTerm",
    "Sampling",
    "ScalarView",
    "Scenarios",
    "SearchContext",
    "Uncertain",
    "UncertaintySet",
    "UncertaintySpace",
    "Vertices",
    "check_equalities",
    "default_method",
    "is_parametric",
    "normalize_uncertain",
    "price_of_robustness",
    "resolve",
    "robust_report",
    "robust_terms",
]
