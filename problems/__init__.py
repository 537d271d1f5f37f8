"""The pinnopt problem library: declared problems with exact or reference solutions.

Each module defines ``NAME``, ``DESCRIPTION``, ``TARGET`` (the relative L2 error its
recommended configuration is expected to reach), ``make_problem()`` returning a
:class:`pinnopt.Problem`, ``recommended()`` returning keyword arguments for
:func:`pinnopt.solve`, and ``quick()`` returning a cheaper configuration that stops on a step
budget (never a time limit, so its result does not depend on the machine's load), at most
3 minutes on one CPU core, aiming at 3 x ``TARGET`` (``pinnopt solve NAME --quick``; measured by
``python -m benchmarks.quick``). Nothing is imported until asked for.

Optional, for ``pinnopt check``: ``OBJECTIVE_TERMS``, names of terms that are design
objectives (a target the solution approaches, not an identity its exact solution satisfies),
reported as skipped; ``CHECK_RTOL``, ``{term: relative tolerance}`` where a numeric reference
is known to be less accurate, with the measurement that justifies it.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

from pinnopt.errors import ProblemError


def names() -> list[str]:
    """Names of the library's problems, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def module(name: str) -> ModuleType:
    """The module declaring problem ``name``."""
    if name not in names():
        raise ProblemError(f"no library problem named {name!r}; available: {', '.join(names())}")
    return importlib.import_module(f"{__name__}.{name}")


def get(name: str) -> Any:
    """Build library problem ``name`` (a :class:`pinnopt.Problem`)."""
    return module(name).make_problem()


def recommended(name: str) -> dict[str, Any]:
    """Keyword arguments for :func:`pinnopt.solve` recommended for problem ``name``."""
    return dict(module(name).recommended())


def quick(name: str) -> dict[str, Any]:
    """Keyword arguments for :func:`pinnopt.solve` of problem ``name``'s quick configuration.

    Raises:
        ProblemError: unknown name, or a problem that declares no ``quick()``.
    """
    mod = module(name)
    if not callable(getattr(mod, "quick", None)):
        raise ProblemError(f"library problem {name!r} defines no quick() configuration")
    return dict(mod.quick())


def describe() -> list[tuple[str, str]]:
    """``(name, one-line description)`` for every problem."""
    return [(n, module(n).DESCRIPTION) for n in names()]
