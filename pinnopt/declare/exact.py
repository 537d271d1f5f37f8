"""Exact or reference solutions, normalized to one interface."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef, UndefinedFunction

from ..errors import ProblemError
from .reference import ReferenceSolution


def unknown_name(key: object) -> str:
    """The name of an unknown given as ``u(x, t)``, ``sp.Function("u")`` or ``"u"``."""
    if isinstance(key, AppliedUndef):
        return key.func.__name__
    if isinstance(key, UndefinedFunction):
        return key.__name__
    if isinstance(key, str):
        return key
    raise ProblemError(f"cannot use {key!r} as an unknown; expected u(x, ...), Function('u') or 'u'")


class ExactSolution:
    """An exact or reference solution evaluated on numpy points.

    Built from a sympy expression (one unknown), a dict ``{u: expr_or_callable}``, a
    callable ``f(points) -> array`` where ``points`` has shape ``(N, dim)`` and the result
    has shape ``(N,)`` (one unknown) or ``(N, n_unknowns)``, a
    :class:`~pinnopt.ReferenceSolution`, or the path of a ``.npz``/``.csv``
    reference file (read with :meth:`ReferenceSolution.load`). Calling it returns a dict of
    ``(N,)`` float64 arrays, one per unknown.

    Attributes:
        symbolic: the sympy expressions per unknown when every part is symbolic, else None.
        reference: the reference data when the solution was given as arrays, else None.
    """

    def __init__(
        self,
        spec: Any,
        coordinates: Sequence[sp.Symbol],
        unknowns: Sequence[str],
        substitutions: Mapping[sp.Symbol, float] | None = None,
    ) -> None:
        self.coordinates = tuple(coordinates)
        self.unknowns = tuple(unknowns)
        subs = {s: sp.Float(v) for s, v in (substitutions or {}).items()}
        parts: dict[str, sp.Expr | Callable[[np.ndarray], np.ndarray]] = {}
        self._whole: Callable[[np.ndarray], np.ndarray] | None = None
        self.reference: ReferenceSolution | None = None
        if isinstance(spec, (str, os.PathLike)):
            spec = ReferenceSolution.load(spec, [str(c) for c in self.coordinates], self.unknowns)
        if isinstance(spec, ReferenceSolution):
            self._set_reference(spec)
        elif isinstance(spec, Mapping):
            for key, value in spec.items():
                name = unknown_name(key)
                if name not in self.unknowns:
                    raise ProblemError(
                        f"exact solution given for {name!r}, which is not an unknown of the problem "
                        f"({list(self.unknowns)})"
                    )
                parts[name] = self._normalize_part(name, value, subs)
            missing = [u for u in self.unknowns if u not in parts]
            if missing:
                raise ProblemError(f"exact solution misses unknowns {missing}")
        elif isinstance(spec, (sp.Basic, int, float)):
            if len(self.unknowns) != 1:
                raise ProblemError(
                    f"a single exact expression needs a single unknown; the problem has "
                    f"{list(self.unknowns)}: give a dict {{unknown: expression}}"
                )
            parts[self.unknowns[0]] = self._normalize_part(self.unknowns[0], spec, subs)
        elif callable(spec):
            self._whole = spec
        else:
            raise ProblemError(
                "exact solution must be a sympy expression, a dict, a callable, a ReferenceSolution or "
                f"the path of a .npz/.csv file, got {type(spec).__name__}"
            )
        self._parts = parts
        self.symbolic: dict[str, sp.Expr] | None = (
            {k: v for k, v in parts.items() if isinstance(v, sp.Basic)}
            if parts and all(isinstance(v, sp.Basic) for v in parts.values())
            else None
        )
        self._numeric = {
            k: sp.lambdify(self.coordinates, v, modules="numpy") if isinstance(v, sp.Basic) else v
            for k, v in parts.items()
        }

    def _set_reference(self, ref: ReferenceSolution) -> None:
        names = [str(c) for c in self.coordinates]
        if list(ref.coordinates) != names:
            raise ProblemError(
                f"reference solution {ref.source} is given in coordinates {list(ref.coordinates)}; the "
                f"problem's are {names}"
            )
        missing = [u for u in self.unknowns if u not in ref.unknowns]
        if missing:
            raise ProblemError(f"reference solution {ref.source} has no values for unknowns {missing}")
        self.reference = ref
        unknowns = self.unknowns
        self._whole = lambda pts: np.stack([ref.at(pts)[u] for u in unknowns], axis=1)

    @property
    def kind(self) -> str:
        """``"exact"`` for a sympy solution, ``"reference"`` for a numerical one (a
        callable, reference data): the word reports, plots and validations use."""
        return "exact" if self.symbolic is not None else "reference"

    @property
    def reference_points(self) -> np.ndarray | None:
        """The reference data's own points (validation uses them by default), or None."""
        return None if self.reference is None else self.reference.points

    def _normalize_part(
        self, name: str, value: Any, subs: Mapping[sp.Symbol, sp.Float]
    ) -> sp.Expr | Callable[[np.ndarray], np.ndarray]:
        if isinstance(value, (int, float)):
            value = sp.Float(value)
        if isinstance(value, sp.Basic):
            if isinstance(value, sp.Equality):
                raise ProblemError(f"exact solution of {name} must be an expression, not {value}")
            expr = value.subs(subs) if subs else value
            extra = expr.free_symbols - set(self.coordinates)
            if extra or expr.atoms(AppliedUndef):
                raise ProblemError(
                    f"exact solution of {name}, {expr}, uses {sorted(map(str, extra)) or 'unknowns'}; "
                    f"it may only use the coordinates {[str(c) for c in self.coordinates]} "
                    "(and parameters with exact values)"
                )
            return expr
        if callable(value):
            return value
        raise ProblemError(f"exact solution of {name} must be a sympy expression or a callable")

    def __call__(self, points: np.ndarray) -> dict[str, np.ndarray]:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != len(self.coordinates):
            raise ProblemError(
                f"exact solution evaluated at points of shape {pts.shape}; expected (N, "
                f"{len(self.coordinates)})"
            )
        n = pts.shape[0]
        if self._whole is not None:
            out = np.asarray(self._whole(pts), dtype=np.float64)
            if out.ndim == 1:
                out = out[:, None]
            if out.shape != (n, len(self.unknowns)):
                raise ProblemError(
                    f"exact solution callable returned shape {out.shape}; expected ({n},) or "
                    f"({n}, {len(self.unknowns)}) for unknowns {list(self.unknowns)}"
                )
            return {u: out[:, i].copy() for i, u in enumerate(self.unknowns)}
        result = {}
        for name, fn in self._numeric.items():
            if isinstance(self._parts[name], sp.Basic):
                value = fn(*[pts[:, j] for j in range(pts.shape[1])])
            else:
                value = fn(pts)
            arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
            result[name] = arr
        return result
