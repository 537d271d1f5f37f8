"""Checks of declared inputs that refuse a bad problem or model by name, before any training.

* :func:`check_points_inside`: given points (``po.On(po.Points(...), expr)``) lie in the domain.
* :func:`check_unknowns_determined`: every unknown appears in an equation or an energy (a
  typo such as ``U`` for ``u`` in a condition would otherwise become a second unknown with
  no equation).
* :func:`probe_module`: a custom ``torch.nn.Module`` maps ``(N, dim)`` to ``(N, n_unknowns)``
  and something trainable reaches its output.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import sympy as sp
import torch
from sympy.core.function import AppliedUndef
from torch import nn

from .domain import Domain, Region
from .errors import ConfigError, ProblemError

OUTSIDE_TOL = 1e-9
"""Relative tolerance (times the domain's largest coordinate, at least 1) for points on the boundary."""


def domain_scale(domain: Domain) -> float:
    """The largest absolute coordinate bound of ``domain``, at least 1 (scales tolerances)."""
    lo, hi = domain.bounds
    return max(1.0, *(abs(v) for v in (*lo, *hi)))


def check_points_inside(domain: Domain, region: Region, what: str) -> None:
    """Refuse given points (a region with fixed points) that lie outside ``domain``.

    Raises:
        ProblemError: naming ``what``, the region, how many points lie outside and the first one.
    """
    pts = region.fixed_points
    if pts is None:
        return
    names = [str(c) for c in domain.coordinates]
    if pts.shape[1] != domain.dim:
        raise ProblemError(
            f"{what}: points {region.name!r} have {pts.shape[1]} column(s) but the domain's coordinates "
            f"are {names}"
        )
    outside = ~domain.contains(pts.to(torch.float64), tol=OUTSIDE_TOL * domain_scale(domain))
    if bool(outside.any()):
        rows = outside.nonzero()[:, 0]
        first = int(rows[0])
        where = ", ".join(f"{n}={v:g}" for n, v in zip(names, pts[first].tolist(), strict=True))
        raise ProblemError(
            f"{what}: {len(rows)} point(s) of {region.name!r} lie outside the domain {domain}; the first "
            f"is row {first} ({where})"
        )


def unknown_names(exprs: Iterable[sp.Basic], functions: Any) -> set[str]:
    """Names of the unknown functions (applied, not in the function table) in ``exprs``."""
    out: set[str] = set()
    for e in exprs:
        for f in sp.sympify(e).atoms(AppliedUndef):
            if f.func.__name__ not in functions:
                out.add(f.func.__name__)
    return out


def check_unknowns_determined(
    unknowns: Sequence[str],
    equations: Sequence[sp.Basic],
    energies: Sequence[sp.Basic],
    functions: Any,
    declared: Sequence[str] = (),
) -> None:
    """Refuse an unknown that appears in no equation and no energy, only in conditions or data.

    The rule applies when the problem has equations or energies at all (a pure fit of
    observations has neither). An unknown listed in ``Problem(unknowns=...)`` is taken as
    intended (e.g. a field fitted to data only) and passes.

    Raises:
        ProblemError: naming the unknown and, when one is close, the declared unknown it may
            be a typo of.
    """
    if not equations and not energies:
        return
    used = unknown_names([*equations, *energies], functions)
    stray = [name for name in unknowns if name not in used and name not in set(declared)]
    if not stray:
        return
    lines = []
    for name in stray:
        others = {o.lower(): o for o in sorted(used)}
        close = difflib.get_close_matches(name.lower(), list(others), n=1, cutoff=0.5)
        hint = f"; did you mean {others[close[0]]!r}?" if close else ""
        lines.append(f"unknown {name!r} appears in no equation or energy, only in conditions or data{hint}")
    raise ProblemError(
        "; ".join(lines)
        + f" (the equations determine {sorted(used)}; list every unknown in Problem(unknowns=[...]) "
        "to keep one determined by conditions or data alone)"
    )


def probe_module(
    net: nn.Module, domain: Domain, n_unknowns: int, dtype: torch.dtype, device: torch.device, scalars: bool
) -> None:
    """Run a custom module once on 2 points: it must map ``(N, dim)`` to ``(N, n_unknowns)``.

    Args:
        net: the user's module (already on ``device`` in ``dtype``).
        domain: gives ``dim`` and where the probe points lie.
        n_unknowns: the expected output width.
        scalars: whether the problem has trainable scalars of its own (then a module with
            nothing trainable still leaves something to train).

    Raises:
        ConfigError: the module fails on, or returns the wrong shape for, a ``(2, dim)`` batch;
            or no trainable parameter reaches the loss.
    """
    dim = domain.dim
    expect = (
        f"a custom model must map (N, {dim}) -> (N, {n_unknowns}): points in the domain's coordinates "
        "to one column per unknown"
    )
    lo = torch.tensor(domain.bounds[0], dtype=dtype, device=device)
    hi = torch.tensor(domain.bounds[1], dtype=dtype, device=device)
    probe = lo + (hi - lo) * torch.tensor([[0.25], [0.75]], dtype=dtype, device=device)
    training = net.training
    net.eval()  # no side effects on the module (batch-norm statistics, dropout draws)
    try:
        with torch.enable_grad():
            out = net(probe)
    except Exception as exc:  # any failure of user code on a well-formed batch
        raise ConfigError(
            f"{expect}; {type(net).__name__} failed on a (2, {dim}) batch: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        net.train(training)
    if not isinstance(out, torch.Tensor):
        raise ConfigError(f"{expect}; {type(net).__name__} returned {type(out).__name__}, not a tensor")
    if tuple(out.shape) != (2, n_unknowns):
        raise ConfigError(
            f"{expect}; {type(net).__name__} got shape {tuple(out.shape)} for a (2, {dim}) batch"
        )
    if not out.requires_grad and not scalars:
        raise ConfigError(
            f"nothing to train: no trainable parameter reaches the loss ({type(net).__name__} has "
            f"{sum(p.numel() for p in net.parameters() if p.requires_grad)} trainable parameter "
            "value(s) and its output does not depend on them, and the problem has no po.Parameter)"
        )


SEED_LIMIT = 2**62
"""Seeds lie in ``(-2**62, 2**62)``: torch takes 64-bit seeds, and solve derives a few from each."""


def check_solve_options(
    *, seed: Any, phases: Any, collocation: Any, callbacks: Any, hooks: Any, resume: Any, progress: Any
) -> None:
    """Refuse solve options of the wrong type before anything is built (each named in its message).

    Raises:
        ConfigError: naming the option, the value and what is expected.
    """
    from .domain.sampling import Collocation
    from .train import Phase

    integer = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    if not integer or not -SEED_LIMIT < seed < SEED_LIMIT:
        raise ConfigError(f"seed={seed!r}: expected an int with |seed| < 2**62")
    if isinstance(phases, Phase):
        raise ConfigError(f"phases={phases!r}: expected a list of phases, e.g. phases=[{phases!r}]")
    if (phases is not None and not isinstance(phases, Sequence)) or isinstance(phases, str):
        raise ConfigError(f"phases={phases!r}: expected a non-empty list of po.Adam/po.LBFGS/...")
    if collocation is not None and not isinstance(collocation, Collocation):
        raise ConfigError(
            f"collocation={collocation!r}: expected po.Collocation(interior=..., boundary=...)"
        )
    for name, value in (("callbacks", callbacks), ("hooks", hooks)):
        if value is not None and (isinstance(value, (str, bytes)) or not isinstance(value, Iterable)):
            raise ConfigError(f"{name}={value!r}: expected a list (of functions or po.Callback / hooks)")
    if resume is not None and not isinstance(resume, (str, os.PathLike)):
        raise ConfigError(f"resume={resume!r}: expected a checkpoint file or folder (a path)")
    if progress is not None and not isinstance(progress, bool):
        raise ConfigError(f"progress={progress!r}: expected True, False or None (only on a terminal)")
