"""Declarations: the problem, its conditions, observations, bounds, equalities, energies,
regularizers, uncertainty sets and exact or reference solutions.

Layer ``declare`` (see docs/architecture.md): it imports only :mod:`pinnopt.symbolic`,
:mod:`pinnopt.domain` and :mod:`pinnopt.errors`; every layer above reads these values.
"""
