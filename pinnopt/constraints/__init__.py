"""Constraints: hard bounds as barriers, exact parameter bounds, soft regularization,
equality constraints, energy terms and feasibility reports.

Declared on a :class:`pinnopt.Problem` (``bounds=``, ``regularization=``, ``equalities=``,
``energy=``), compiled with it, and turned into loss terms and training hooks by
:func:`pinnopt.solve`. See docs/constraints.md.
"""

from .assemble import constraint_hooks, constraint_points, constraint_terms
from .barrier import BarrierTerm, capped_exp, log_barrier
from .bounds import METHODS, Bound, Continuation, Inequality, between
from .energy import Energy, EnergyTerm
from .equality import Equality, EqualityTerm
from .feasibility import BoundFeasibility, FeasibilityReport, feasibility
from .fit import ParameterFit, fit_parameters
from .hooks import AugmentedLagrangian, BarrierContinuation, BarrierMonitor, Projection
from .regularization import L1, L2, Range, RegularizationTerm, Regularizer
from .reparam import BoundedMap
from .spec import ConstraintSet, compile_constraints

__all__ = [
    "L1",
    "L2",
    "METHODS",
    "AugmentedLagrangian",
    "BarrierContinuation",
    "BarrierMonitor",
    "BarrierTerm",
    "Bound",
    "BoundFeasibility",
    "BoundedMap",
    "ConstraintSet",
    "Continuation",
    "Energy",
    "EnergyTerm",
    "Equality",
    "EqualityTerm",
    "FeasibilityReport",
    "Inequality",
    "ParameterFit",
    "Projection",
    "Range",
    "RegularizationTerm",
    "Regularizer",
    "between",
    "capped_exp",
    "compile_constraints",
    "constraint_hooks",
    "constraint_points",
    "constraint_terms",
    "feasibility",
    "fit_parameters",
    "log_barrier",
]
