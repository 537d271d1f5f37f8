"""Loss terms, point sets and the weighted objective."""

from .evaluation import Evaluation
from .objective import Objective
from .points import PointSet
from .terms import ResidualTerm, Term

__all__ = ["Evaluation", "Objective", "PointSet", "ResidualTerm", "Term"]
