"""Uncertainty sets and uncertain coefficients (declarations used by :mod:`pinnopt.robust`)."""
