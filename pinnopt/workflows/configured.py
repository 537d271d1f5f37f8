"""Run a configuration as the problem library writes it: solve options, or a time-march."""

from __future__ import annotations

from typing import Any

from ..declare.problem import Problem
from ..result import Result
from ..solve import solve
from .marching import march
from .stitched import MarchResult


def run_configuration(problem: Problem, **options: Any) -> Result | MarchResult:
    """Solve ``problem`` with ``options`` (the keywords of :func:`pinnopt.solve`), or march it
    in time when they hold ``marching=po.Marching(...)`` (the other options then apply to
    every window, see :func:`pinnopt.march`).

    The problem library's ``recommended()`` and ``quick()`` configurations are such dicts;
    ``pinnopt solve NAME`` and the accuracy benchmark run them through this function.
    """
    marching = options.pop("marching", None)
    if marching is not None:
        return march(problem, marching, **options)
    return solve(problem, **options)
