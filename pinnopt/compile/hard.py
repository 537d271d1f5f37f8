"""Hard constraints: Dirichlet and initial values enforced exactly by an output transform.

For an unknown ``u`` with value conditions on sides of interval coordinates (``x = a``,
``x = b``, ``t = t0``...), the network output ``N`` becomes::

    u = g(x) + d(x) N(x)

``d`` is a product over the constrained coordinates of ``(x-a)(b-x)`` (both sides),
``(x-a)`` (lower side only) or ``(b-x)`` (upper side only), scaled to at most 1, so it
vanishes exactly on every enforced side. ``g`` interpolates the side values by transfinite
(Boolean-sum) interpolation: with ``P_x f = w_a(x) f(a, .) + w_b(x) f(b, .)`` (linear
weights; ``f(a, .)`` alone for one side), ``g = (1 - prod_k (1 - P_k)) f``, which reproduces
every enforced side's values when they agree where sides meet. Enforced conditions leave
the objective; all others (Neumann, Robin, periodic, at points, conditions with trainable
parameters) stay loss terms.

A condition is enforceable when it lies on a side of an interval factor of the domain and
its expression is ``c * u + h`` with a constant ``c != 0``, one unknown ``u`` (no
derivatives) and ``h`` a function of the coordinates only.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp
import torch
from sympy.core.function import AppliedUndef
from torch import nn

from ..declare.problem import Problem, TermSpec
from ..domain import face_of
from ..errors import ConfigError, PinnoptWarning
from ..symbolic import CompiledExpression, Env, SymbolContext, compile_expression

log = logging.getLogger("pinnopt")


@dataclass(frozen=True)
class HardConstraints:
    """Ask :func:`pinnopt.solve` to enforce value conditions exactly.

    Args:
        only: names of the condition terms to enforce (default: every enforceable one);
            naming one that cannot be enforced is an error.
    """

    only: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.only is not None:
            if isinstance(self.only, str) or not all(isinstance(n, str) for n in self.only):
                raise ConfigError(f"HardConstraints(only={self.only!r}): expected a list of term names")
            object.__setattr__(self, "only", tuple(self.only))


@dataclass(frozen=True)
class SideValue:
    """One enforced condition: ``unknown = value`` on ``coordinate = side value``."""

    term: str
    unknown: str
    axis: int
    end: str  # "lower" or "upper"
    lower: float
    upper: float
    value: sp.Expr  # a function of the coordinates


@dataclass
class ConstraintPlan:
    """What will be enforced, per unknown, and why the other conditions were not."""

    coordinates: tuple[sp.Symbol, ...]
    unknowns: tuple[str, ...]
    sides: dict[str, list[SideValue]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def enforced(self) -> list[str]:
        """Names of the enforced condition terms."""
        return [s.term for sides in self.sides.values() for s in sides]


def plan_hard_constraints(problem: Problem, spec: HardConstraints | None = None) -> ConstraintPlan:
    """Decide which conditions of ``problem`` can be enforced exactly (see module docstring)."""
    spec = spec or HardConstraints()
    plan = ConstraintPlan(tuple(problem.coordinates), tuple(problem.unknowns))
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
        found = _side_value(problem, term)
        if isinstance(found, str):
            plan.skipped[term.name] = found
            continue
        taken = [s for s in plan.sides.get(found.unknown, []) if (s.axis, s.end) == (found.axis, found.end)]
        if taken:
            plan.skipped[term.name] = f"that side of {found.unknown} is already enforced by {taken[0].term!r}"
            continue
        plan.sides.setdefault(found.unknown, []).append(found)
    if spec.only is not None and plan.skipped:
        raise ConfigError(f"HardConstraints(only=...): cannot enforce {plan.skipped}")
    if plan.enforced:
        log.info("hard constraints enforce %s; loss terms remain for %s", plan.enforced, sorted(plan.skipped))
    return plan


def _side_value(problem: Problem, term: TermSpec) -> SideValue | str:
    """The enforceable form of a condition, or the reason it is not enforceable."""
    if term.mode != "residual":
        return "a paired (periodic) condition"
    face = face_of(term.region)
    if face is None:
        return "not on a side of an interval coordinate"
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
    coordinate = face.coordinate
    if coordinate not in u.args:
        return f"{name} does not depend on {coordinate}"
    s = sp.Dummy("s")
    e = sp.expand(expr.subs(u, s))
    if sp.simplify(sp.diff(e, s, 2)) != 0:
        return f"not linear in {name}"
    c = sp.simplify(sp.diff(e, s))
    if not c.is_number or c == 0:
        return f"the coefficient of {name} is not a non-zero constant"
    g = sp.simplify(-e.subs(s, 0) / c).subs(coordinate, face.value)
    axis = list(problem.coordinates).index(coordinate)
    end = "lower" if face.outward < 0 else "upper"
    return SideValue(term.name, name, axis, end, face.lower, face.upper, g)


def interpolant(sides: Sequence[SideValue], coordinates: Sequence[sp.Symbol]) -> sp.Expr:
    """The transfinite interpolant ``g`` of the side values (Boolean sum of 1-D projectors)."""
    by_axis: dict[int, dict[str, SideValue]] = {}
    for s in sides:
        by_axis.setdefault(s.axis, {})[s.end] = s
    axes = sorted(by_axis)
    total = sp.S.Zero
    for k in range(1, len(axes) + 1):
        for subset in itertools.combinations(axes, k):
            for ends in itertools.product(*(sorted(by_axis[a]) for a in subset)):
                weight = sp.S.One
                fixed: dict[sp.Symbol, float] = {}
                for a, end in zip(subset, ends, strict=True):
                    side = by_axis[a][end]
                    weight *= _weight(coordinates[a], side, both=len(by_axis[a]) == 2)
                    fixed[coordinates[a]] = side.lower if end == "lower" else side.upper
                first = by_axis[subset[0]][ends[0]]
                total += (-1) ** (k + 1) * weight * first.value.subs(fixed)
    return total


def _weight(x: sp.Symbol, side: SideValue, *, both: bool) -> sp.Expr:
    if not both:
        return sp.S.One
    lo, hi = sp.Float(side.lower), sp.Float(side.upper)
    return (hi - x) / (hi - lo) if side.end == "lower" else (x - lo) / (hi - lo)


class HardConstrained(nn.Module):
    """Wraps a network: ``u_k = g_k(x) + d_k(x) N_k(x)`` for constrained unknowns, else ``N_k``.

    Args:
        net: maps ``(N, dim)`` to ``(N, n_unknowns)``.
        plan: the enforced side values per unknown (:func:`plan_hard_constraints`).
        context: names for compiling ``g`` (coordinates, function table).
    """

    def __init__(self, net: nn.Module, plan: ConstraintPlan, context: SymbolContext) -> None:
        super().__init__()
        self.net = net
        self.plan = plan
        self._ctx = SymbolContext(coordinates=plan.coordinates, functions=context.functions)
        self.columns: list[int] = []
        self.values: list[CompiledExpression] = []
        self.distances: list[list[tuple[int, str, float, float]]] = []
        for name, sides in plan.sides.items():
            g = interpolant(sides, plan.coordinates)
            self.columns.append(plan.unknowns.index(name))
            self.values.append(self._compile(g, f"hard-constraint values of {name}"))
            per_axis: dict[int, tuple[set[str], float, float]] = {}
            for s in sides:
                per_axis.setdefault(s.axis, (set(), s.lower, s.upper))[0].add(s.end)
            self.distances.append(
                [(a, "both" if len(e) == 2 else next(iter(e)), lo, hi) for a, (e, lo, hi) in per_axis.items()]
            )
        self._check(plan)

    def _compile(self, expr: sp.Expr, what: str) -> CompiledExpression:
        return compile_expression(expr, self._ctx, what=what, require_unknown=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if not self.columns:
            return out
        coords = x.unbind(1)
        env = Env(coords, {}, {})
        cols = list(out.unbind(1))
        for col, g, dist in zip(self.columns, self.values, self.distances, strict=True):
            cols[col] = g(env) + _distance(coords, dist) * cols[col]
        return torch.stack(cols, dim=1)

    def _check(self, plan: ConstraintPlan) -> None:
        """Warn when side values disagree where sides meet (then they cannot all hold)."""
        gen = torch.Generator().manual_seed(0)
        for g, (name, sides) in zip(self.values, plan.sides.items(), strict=True):
            for s in sides:
                pts = _side_points(plan.coordinates, sides, s, gen)
                env = Env(pts.unbind(1), {}, {})
                want = self._compile(s.value, f"values of {s.term}")(env)
                gap = float((g(env) - want).abs().max())
                if gap > 1e-8 * (1.0 + float(want.abs().max())):
                    warnings.warn(
                        f"hard constraints: the enforced values of {name} disagree where sides meet "
                        f"(by {gap:.2e} on the side of {s.term!r}); they cannot all hold exactly",
                        PinnoptWarning,
                        stacklevel=3,
                    )


def _side_points(
    coords: Sequence[sp.Symbol], sides: Sequence[SideValue], side: SideValue, gen: torch.Generator
) -> torch.Tensor:
    """Random points on ``side`` with the other constrained coordinates inside their ranges."""
    pts = torch.rand(64, len(coords), generator=gen, dtype=torch.float64)
    for s in sides:
        pts[:, s.axis] = s.lower + (s.upper - s.lower) * pts[:, s.axis]
    pts[:, side.axis] = side.lower if side.end == "lower" else side.upper
    return pts


def _distance(coords: Sequence[torch.Tensor], dist: Sequence[tuple[int, str, float, float]]) -> torch.Tensor:
    d: torch.Tensor | float = 1.0
    for axis, kind, lo, hi in dist:
        x = coords[axis]
        if kind == "both":
            f = (x - lo) * (hi - x) * (4.0 / (hi - lo) ** 2)
        elif kind == "lower":
            f = (x - lo) / (hi - lo)
        else:
            f = (hi - x) / (hi - lo)
        d = f if isinstance(d, float) else d * f
    assert isinstance(d, torch.Tensor)
    return d


def describe(plan: ConstraintPlan) -> dict[str, object]:
    """A JSON-ready summary: enforced terms per unknown and the reasons for the others."""
    return {
        "enforced": {u: [s.term for s in sides] for u, sides in plan.sides.items()},
        "soft": dict(plan.skipped),
    }
