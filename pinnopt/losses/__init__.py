"""Loss terms, point sets and the weighted objective."""

from .data import DataTerm, PairedTerm
from .evaluation import Evaluation
from .objective import Objective
from .points import PointSet
from .terms import ResidualTerm, Term

__all__ = ["DataTerm", "Evaluation", "Objective", "PairedTerm", "PointSet", "ResidualTerm", "Term"]
