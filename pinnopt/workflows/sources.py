"""Where a problem comes from: a library name or a Python file, with its configuration
(``recommended()`` or ``quick()``); and the command line's changes to a configuration: a
step budget, a learning rate, a time limit.

Used by the ``pinnopt`` command; a file given here is run (it is the user's own choice).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import problems
from ..declare.problem import Problem
from ..errors import ConfigError, PinnoptError, ProblemError
from ..train import Criterion, GradientPhase, TimeLimit


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec or Path(spec).is_file()


def load_problem(spec: str, config: str = "recommended") -> tuple[Any, dict[str, Any], dict[str, str]]:
    """``(problem, solve() kwargs, source)`` for a library name or a ``.py`` file.

    ``config`` names the module function giving the kwargs: ``"recommended"`` (optional) or
    ``"quick"`` (a configuration that trains in a few minutes on a CPU; required when asked).

    Raises:
        ProblemError: unknown name, missing file, a file that fails to run or defines no problem,
            or no ``quick()`` configuration when ``config="quick"``.
    """
    if _is_file_spec(spec):
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise ProblemError(f"problem file {spec} does not exist")
        module = _run_file(path)
        source = {"kind": "file", "path": str(path)}
        if hasattr(module, "make_problem"):
            try:
                problem = module.make_problem()
            except PinnoptError:
                raise
            except Exception as exc:
                raise ProblemError(f"{spec}: make_problem() failed: {type(exc).__name__}: {exc}") from exc
        elif hasattr(module, "problem"):
            problem = module.problem
        else:
            raise ProblemError(
                f"problem file {spec} defines neither `problem` nor `make_problem()`; "
                "define one of them returning a pinnopt.Problem"
            )
        recommend = getattr(module, config, None)
    else:
        module = problems.module(spec)
        problem = module.make_problem()
        recommend = getattr(module, config, None)
        source = {"kind": "library", "name": spec}
    if not isinstance(problem, Problem):
        raise ProblemError(f"{spec}: the problem is a {type(problem).__name__}, expected a pinnopt.Problem")
    if recommend is None and config != "recommended":
        raise ProblemError(f"{spec} defines no {config}() configuration; run it without --{config}")
    kwargs: dict[str, Any] = {}
    if recommend is not None:
        kwargs = recommend() if callable(recommend) else recommend
        if not isinstance(kwargs, dict):
            raise ProblemError(f"{spec}: {config}() must return a dict of solve() options")
    return problem, dict(kwargs), source


def _run_file(path: Path) -> Any:
    name = "pinnopt_user_problem_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProblemError(f"problem file {path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except PinnoptError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ProblemError(f"problem file {path} failed to run: {type(exc).__name__}: {exc}") from exc
    return module


def cap_steps(phases: Sequence[Any], total: int) -> list[Any]:
    """Scale the phases' steps down proportionally so they sum to at most ``total``.

    Each phase gets ``floor(total * steps_i / sum(steps))`` steps, the remainder going to
    the phases with the largest fractional parts; phases left with 0 steps are dropped.
    Budgets already within ``total`` are unchanged. (L-BFGS may still stop earlier on its
    tolerances: the cap is an upper bound.)
    """
    if total < 1:
        raise ConfigError(f"--steps {total}: expected a positive number of steps")
    budget = sum(int(p.steps) for p in phases)
    if budget <= total:
        return list(phases)
    shares = [p.steps * total / budget for p in phases]
    counts = [int(s) for s in shares]
    order = sorted(range(len(phases)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    out = []
    for p, c in zip(phases, counts, strict=True):
        if c > 0:
            if not dataclasses.is_dataclass(p):
                raise ConfigError(f"--steps cannot shorten phase {p!r} (not a dataclass phase)")
            out.append(dataclasses.replace(p, steps=c))
    return out


# -- the command line's overrides of a configuration ----------------------------------------------


def with_lr(phases: list[Any], lr: float) -> list[Any]:
    """The phases with ``lr`` as the learning rate of every gradient phase (Adam, SGD...)."""
    if not lr > 0:
        raise ConfigError(f"--lr {lr:g}: expected a positive learning rate")
    if not any(isinstance(p, GradientPhase) for p in phases):
        raise ConfigError(f"--lr: the configuration has no gradient phase to set it on: {phases!r}")
    return [dataclasses.replace(p, lr=lr) if isinstance(p, GradientPhase) else p for p in phases]


def time_limit(kwargs: dict[str, Any], seconds: float) -> Criterion:
    """A time limit of ``seconds``, or-ed with the configuration's own stopping criterion (a
    time-march gives each window an equal share)."""
    if not seconds > 0:
        raise ConfigError(f"--time-limit {seconds:g}: expected a positive number of seconds")
    marching = kwargs.get("marching")
    windows = int(getattr(marching, "windows", 1) or 1)
    limit = TimeLimit(seconds / windows)
    stop = kwargs.get("stop")
    return limit if stop is None else stop | limit
