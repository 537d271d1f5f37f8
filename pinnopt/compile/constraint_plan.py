"""Which conditions hard constraints can make exact, and the policy for the others.

A condition ``c * u + h = 0`` (a constant ``c != 0``, one unknown ``u`` without derivatives,
``h`` a function of the coordinates only) can be made exact when its region is made of
pieces with a known distance-like function that vanishes exactly on them:

- a side ``x = a`` of an interval coordinate (a box side, an initial slice ``t = t0``,
  a side of a space-time cylinder): ``d = (x - a) / (b - a)``;
- the boundary of a disk or ball (also times other factors, e.g. ``Disk * Interval(t)``):
  ``d = (r^2 - |x - c|^2) / r^2``;
- any list of these, in particular the whole ``"boundary"`` of a box or disk.

Everything else (derivatives: Neumann, Robin, rates; periodic pairs; polygon sides and
pieces of CSG shapes; conditions at given points; values that depend on trainable
parameters) stays a loss term. :func:`resolve_hard_constraints` applies the user's choice:
``True`` demands that every condition be exact and raises a :class:`ConfigError` naming
each one that cannot be; ``"where_possible"`` enforces what it can and warns about the rest.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

from ..declare.items import TermSpec
from ..declare.problem import Problem
from ..domain import MappedRegion, PieceUnion, Points, ProductPiece, face_of
from ..domain.shapes import Sphere
from ..errors import ConfigError, PinnoptWarning

log = logging.getLogger("pinnopt")

WHERE_POSSIBLE = "where_possible"


@dataclass(frozen=True)
class HardConstraints:
    """Ask :func:`pinnopt.solve` to enforce value conditions exactly.

    Args:
        only: names of the condition terms to enforce (the others stay loss terms); naming
            one that cannot be enforced is an error.
        where_possible: without ``only``: enforce every condition that can be made exact and
            keep the others as loss terms, with a warning (default False: every condition
            must be exact, else a :class:`~pinnopt.errors.ConfigError` names the others).
    """

    only: Sequence[str] | None = None
    where_possible: bool = False

    def __post_init__(self) -> None:
        if self.only is not None:
            if isinstance(self.only, str) or not all(isinstance(n, str) for n in self.only):
                raise ConfigError(f"HardConstraints(only={self.only!r}): expected a list of term names")
            object.__setattr__(self, "only", tuple(self.only))
        if not isinstance(self.where_possible, bool):
            raise ConfigError(
                f"HardConstraints(where_possible={self.where_possible!r}): expected True or False"
            )

    @property
    def mode(self) -> str:
        """``"only"``, ``"where_possible"`` or ``"all"``."""
        return "only" if self.only is not None else WHERE_POSSIBLE if self.where_possible else "all"


@dataclass(frozen=True)
class SideValue:
    """One enforced piece: ``unknown = value`` on the side ``coordinate[axis] = lower|upper``."""

    term: str
    unknown: str
    axis: int
    end: str  # "lower" or "upper"
    lower: float
    upper: float
    value: sp.Expr  # a function of the coordinates (the side's coordinate substituted)
    region: MappedRegion | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SphereValue:
    """One enforced piece: ``unknown = value`` on ``|x[axes] - center| = radius``."""

    term: str
    unknown: str
    axes: tuple[int, ...]
    center: tuple[float, ...]
    radius: float
    value: sp.Expr  # a function of the coordinates, used as its own extension inside
    region: MappedRegion | None = field(default=None, compare=False, repr=False)


Piece = SideValue | SphereValue


def piece_key(piece: Piece) -> tuple[object, ...]:
    """Identifies the piece (two conditions on one piece of one unknown share it)."""
    if isinstance(piece, SideValue):
        return ("side", piece.axis, piece.end)
    return ("sphere", piece.axes)


@dataclass
class ConstraintPlan:
    """What will be enforced, per unknown, and why the other conditions were not."""

    coordinates: tuple[sp.Symbol, ...]
    unknowns: tuple[str, ...]
    sides: dict[str, list[Piece]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    mode: str = "all"

    @property
    def enforced(self) -> list[str]:
        """Names of the enforced condition terms, in declaration order."""
        return list(self.terms)


def plan_hard_constraints(problem: Problem, spec: HardConstraints | None = None) -> ConstraintPlan:
    """Decide which conditions of ``problem`` can be enforced exactly (see module docstring).

    Only ``spec.only`` is checked here (naming one that cannot be enforced raises); the
    policy for the others is :func:`resolve_hard_constraints`.
    """
    spec = spec or HardConstraints()
    plan = ConstraintPlan(tuple(problem.coordinates), tuple(problem.unknowns), mode=spec.mode)
    conditions = [t for t in problem.terms if t.kind == "condition"]
    names = {t.name for t in conditions}
    if spec.only is not None:
        unknown = [n for n in spec.only if n not in names]
        if unknown:
            raise ConfigError(
                f"HardConstraints(only=...): no condition named {unknown}; conditions are {sorted(names)}"
            )
    for term in conditions:
        if spec.only is not None and term.name not in spec.only:
            continue
        found = _pieces(problem, term)
        if isinstance(found, str):
            plan.skipped[term.name] = found
            continue
        clash = _clash(plan, found)
        if clash:
            plan.skipped[term.name] = clash
            continue
        for piece in found:
            have = plan.sides.setdefault(piece.unknown, [])
            if all(piece_key(p) != piece_key(piece) for p in have):
                have.append(piece)
        plan.terms.append(term.name)
    if spec.only is not None and plan.skipped:
        raise ConfigError(f"HardConstraints(only=...): cannot enforce {plan.skipped}")
    if plan.enforced:
        log.info("hard constraints enforce %s; loss terms remain for %s", plan.enforced, sorted(plan.skipped))
    return plan


def resolve_hard_constraints(problem: Problem, option: object) -> ConstraintPlan | None:
    """Apply ``solve(hard_constraints=option)``: None for False, else the plan.

    ``True`` (or ``HardConstraints()``) raises a :class:`ConfigError` naming every condition
    that cannot be made exact; ``"where_possible"`` (or ``HardConstraints(where_possible=True)``)
    warns with the conditions left as loss terms; ``HardConstraints(only=[...])`` enforces
    exactly the named ones.
    """
    if option is False:
        return None
    if option is True:
        spec = HardConstraints()
    elif isinstance(option, str) and option == WHERE_POSSIBLE:
        spec = HardConstraints(where_possible=True)
    elif isinstance(option, HardConstraints):
        spec = option
    else:
        raise ConfigError(
            f"hard_constraints={option!r}: expected True, False, 'where_possible' or po.HardConstraints(...)"
        )
    plan = plan_hard_constraints(problem, spec)
    if plan.skipped:
        listing = "; ".join(f"{name!r} ({why})" for name, why in plan.skipped.items())
        if spec.mode == "all":
            raise ConfigError(
                f"hard_constraints=True cannot make these conditions exact: {listing}. Exact values are "
                "built for value conditions on box sides, initial slices and disk/ball boundaries; pass "
                "hard_constraints='where_possible' to enforce those and keep the others as loss terms"
            )
        warnings.warn(
            f"hard_constraints='where_possible': {len(plan.skipped)} condition(s) left soft (loss terms): "
            f"{listing}; enforced exactly: {plan.enforced}",
            PinnoptWarning,
            stacklevel=3,
        )
    if not plan.enforced:
        warnings.warn(
            f"hard_constraints={option!r}: {problem.name!r} has no condition that can be made exact; "
            "the network is used as is",
            PinnoptWarning,
            stacklevel=3,
        )
    return plan


def describe(plan: ConstraintPlan) -> dict[str, object]:
    """A JSON-ready summary: the mode, enforced terms per unknown, the reasons for the others."""
    enforced: dict[str, list[str]] = {}
    for u, pieces in plan.sides.items():
        for p in pieces:
            if p.term not in enforced.setdefault(u, []):
                enforced[u].append(p.term)
    return {"mode": plan.mode, "enforced": enforced, "soft": dict(plan.skipped)}


def _clash(plan: ConstraintPlan, pieces: Sequence[Piece]) -> str | None:
    """Why ``pieces`` cannot join the plan (a piece already enforced with other values), or None."""
    for piece in pieces:
        for other in plan.sides.get(piece.unknown, []):
            if piece_key(other) == piece_key(piece):
                if sp.simplify(other.value - piece.value) != 0:
                    return (
                        f"{piece.unknown} on {_where(piece)} is already enforced by {other.term!r} "
                        "with other values"
                    )
            elif isinstance(other, SphereValue) and isinstance(piece, SphereValue):
                return (
                    f"{piece.unknown} already has an enforced curved piece ({other.term!r}); one is supported"
                )
    return None


def _where(piece: Piece) -> str:
    return repr(piece.region.name) if piece.region is not None else str(piece_key(piece))


def _pieces(problem: Problem, term: TermSpec) -> list[Piece] | str:
    """The enforceable pieces of a condition, or the reason it is not enforceable."""
    if term.mode != "residual":
        return "a paired (periodic) condition"
    region = term.region
    parts = list(region.pieces) if isinstance(region, PieceUnion) else [region]
    for part in parts:
        why = _unsupported(part)
        if why:
            return why
    found = _value(problem, term)
    if isinstance(found, str):
        return found
    u, g = found
    name = u.func.__name__
    coords = list(problem.coordinates)
    out: list[Piece] = []
    for part in parts:
        face = face_of(part)
        if face is not None:
            if face.coordinate not in u.args:
                return f"{name} does not depend on {face.coordinate}"
            axis = coords.index(face.coordinate)
            end = "lower" if face.outward < 0 else "upper"
            value = g.subs(face.coordinate, face.value)
            out.append(SideValue(term.name, name, axis, end, face.lower, face.upper, value, part))
            continue
        ball = _sphere(part).ball  # type: ignore[union-attr]
        missing = [str(c) for c in ball.coordinates if c not in u.args]
        if missing:
            return f"{name} does not depend on {missing}"
        axes = tuple(coords.index(c) for c in ball.coordinates)
        center = tuple(float(c) for c in ball.center)
        out.append(SphereValue(term.name, name, axes, center, ball.radius, g, part))
    return out


def _sphere(part: object) -> Sphere | None:
    if isinstance(part, Sphere):
        return part
    if isinstance(part, ProductPiece) and isinstance(part.piece, Sphere):
        return part.piece
    return None


def _unsupported(part: object) -> str | None:
    """Why no exact distance function is built for ``part`` (None: one is)."""
    if face_of(part) is not None or _sphere(part) is not None:
        return None
    name = getattr(part, "name", repr(part))
    if isinstance(part, Points):
        return f"at given points ({name!r}), not on a boundary piece"
    kind = {"Segment": "a polygon side", "RestrictedPiece": "a piece of a CSG shape"}.get(
        type(getattr(part, "piece", part)).__name__, type(part).__name__
    )
    return (
        f"on {name!r} ({kind}): exact values are built only on box sides, initial slices and "
        "disk/ball boundaries"
    )


def _value(problem: Problem, term: TermSpec) -> tuple[AppliedUndef, sp.Expr] | str:
    """``(u, g)`` when the condition reads ``u = g(coordinates)``, else the reason it does not."""
    expr = term.expr.expr
    if expr.atoms(sp.Derivative):
        return "involves derivatives"
    unknowns = [f for f in expr.atoms(AppliedUndef) if f.func.__name__ in problem.unknowns]
    if len(unknowns) != 1:
        return "involves more than one unknown" if unknowns else "involves no unknown"
    extra = expr.free_symbols - set(problem.coordinates)
    if extra:
        return f"uses {sorted(map(str, extra))}, not only coordinates"
    u = unknowns[0]
    name = u.func.__name__
    s = sp.Dummy("s")
    e = sp.expand(expr.subs(u, s))
    if sp.simplify(sp.diff(e, s, 2)) != 0:
        return f"not linear in {name}"
    c = sp.simplify(sp.diff(e, s))
    if not c.is_number or c == 0:
        return f"the coefficient of {name} is not a non-zero constant"
    return u, sp.simplify(-e.subs(s, 0) / c)
