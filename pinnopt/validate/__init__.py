"""Validation against exact solutions: metrics and reports."""

from .exact import ExactSolution
from .metrics import Validation, relative_l2

__all__ = ["ExactSolution", "Validation", "relative_l2"]
