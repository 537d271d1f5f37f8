"""Workflows built on :func:`pinnopt.solve`: time-marching, bagging, parameter fits, pruning.

Layer ``workflows`` (see docs/architecture.md): nothing below it imports it.
"""
