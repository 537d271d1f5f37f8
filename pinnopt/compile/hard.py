"""Hard constraints: Dirichlet and initial values enforced exactly by an output transform.

For an unknown ``u`` with value conditions on enforceable pieces (sides of interval
coordinates ``x = a``, ``t = t0``..., disk/ball boundaries; see
:mod:`pinnopt.compile.constraint_plan`), the network output ``N`` becomes::

    u = g(x) + d(x) N(x)

``d`` is a product of one factor per constrained coordinate or ball: ``(x-a)(b-x)`` (both
sides), ``(x-a)`` (lower side only) or ``(b-x)`` (upper side only), ``r^2 - |x - c|^2`` (a
ball boundary), each scaled to at most 1, so it vanishes exactly on every enforced piece.
``g`` extends the piece values into the interior by transfinite (Boolean-sum)
interpolation: with ``P_x f = w_a(x) f(a, .) + w_b(x) f(b, .)`` (linear weights; ``f(a, .)``
alone for one side) for an interval and ``P_ball f`` = the declared value expression on the
ball boundary (its own extension inside), ``g = (1 - prod_k (1 - P_k)) f``. This reproduces
every enforced piece's values when they agree where pieces meet (else a warning). Enforced
conditions leave the objective; all others stay loss terms (docs/hard_constraints.md).
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Sequence

import sympy as sp
import torch
from torch import nn

from ..errors import PinnoptWarning
from ..symbolic import CompiledExpression, Env, SymbolContext, compile_expression
from ..symbolic.affine import AffineOutput
from .constraint_plan import (
    ConstraintPlan,
    HardConstraints,
    Piece,
    SideValue,
    SphereValue,
    describe,
    plan_hard_constraints,
    resolve_hard_constraints,
)

__all__ = [
    "ConstraintPlan",
    "HardConstrained",
    "HardConstraints",
    "SideValue",
    "SphereValue",
    "describe",
    "interpolant",
    "plan_hard_constraints",
    "resolve_hard_constraints",
]

log = logging.getLogger("pinnopt")


def interpolant(sides: Sequence[Piece], coordinates: Sequence[sp.Symbol]) -> sp.Expr:
    """The transfinite interpolant ``g`` of the piece values (Boolean sum of projectors).

    One projector per constrained interval coordinate (linear between its two sides, or
    constant from its one side) and one per ball (the declared value, its own extension).
    A product of projectors takes the ball's value if it has one, else the first side's,
    with the sides' coordinates fixed.
    """
    groups: dict[tuple[object, ...], dict[str, Piece]] = {}
    for s in sides:
        if isinstance(s, SideValue):
            groups.setdefault((0, s.axis), {})[s.end] = s
        else:
            groups.setdefault((1, s.axes), {})["on"] = s
    keys = sorted(groups)
    total = sp.S.Zero
    for k in range(1, len(keys) + 1):
        for subset in itertools.combinations(keys, k):
            for ends in itertools.product(*(sorted(groups[g]) for g in subset)):
                weight = sp.S.One
                fixed: dict[sp.Symbol, float] = {}
                chosen = [groups[g][e] for g, e in zip(subset, ends, strict=True)]
                for g, side in zip(subset, chosen, strict=True):
                    if isinstance(side, SideValue):
                        weight *= _weight(coordinates[side.axis], side, both=len(groups[g]) == 2)
                        fixed[coordinates[side.axis]] = side.lower if side.end == "lower" else side.upper
                source = next((p for p in chosen if isinstance(p, SphereValue)), chosen[0])
                total += (-1) ** (k + 1) * weight * source.value.subs(fixed)
    return total


def _weight(x: sp.Symbol, side: SideValue, *, both: bool) -> sp.Expr:
    if not both:
        return sp.S.One
    lo, hi = sp.Float(side.lower), sp.Float(side.upper)
    return (hi - x) / (hi - lo) if side.end == "lower" else (x - lo) / (hi - lo)


Distance = tuple[object, ...]
"""``(axis, "both"|"lower"|"upper", lower, upper)`` or ``(axes, "sphere", center, radius)``."""


class HardConstrained(AffineOutput):
    """Wraps a network: ``u_k = g_k(x) + d_k(x) N_k(x)`` for constrained unknowns, else ``N_k``.

    An :class:`~pinnopt.symbolic.affine.AffineOutput`: where the derivative engine recognizes
    the inner network (Taylor mode), derivatives of ``u`` combine the network's with the
    derivatives of ``g`` and ``d``, differentiated symbolically (Leibniz's rule); otherwise
    they go through reverse-mode autograd. Both are exact (docs/hard_constraints.md).

    Args:
        net: maps ``(N, dim)`` to ``(N, n_unknowns)``.
        plan: the enforced piece values per unknown (:func:`plan_hard_constraints`).
        context: names for compiling ``g`` (coordinates, function table).
    """

    def __init__(self, net: nn.Module, plan: ConstraintPlan, context: SymbolContext) -> None:
        super().__init__()
        self.net = net
        self.plan = plan
        self._ctx = SymbolContext(coordinates=plan.coordinates, functions=context.functions)
        self.columns: list[int] = []
        self.values: list[CompiledExpression] = []
        self.factors: list[CompiledExpression] = []  # d: the expression Taylor mode differentiates
        self.distances: list[list[Distance]] = []
        self._exprs: list[tuple[sp.Expr, sp.Expr]] = []  # (g, d) of each constrained column
        self._derivatives: dict[tuple[int, int, tuple[int, ...]], CompiledExpression | None] = {}
        for name, sides in plan.sides.items():
            g = interpolant(sides, plan.coordinates)
            self.columns.append(plan.unknowns.index(name))
            self.values.append(self._compile(g, f"hard-constraint values of {name}"))
            per_axis: dict[int, tuple[set[str], float, float]] = {}
            spheres: list[Distance] = []
            for s in sides:
                if isinstance(s, SideValue):
                    per_axis.setdefault(s.axis, (set(), s.lower, s.upper))[0].add(s.end)
                else:
                    spheres.append((s.axes, "sphere", s.center, s.radius))
            self.distances.append(
                [(a, "both" if len(e) == 2 else next(iter(e)), lo, hi) for a, (e, lo, hi) in per_axis.items()]
                + spheres
            )
            d = _distance_expr(plan.coordinates, self.distances[-1])
            self.factors.append(self._compile(d, f"hard-constraint distance of {name}"))
            self._exprs.append((g, d))
            zero = (0,) * len(plan.coordinates)
            self._derivatives[(0, self.columns[-1], zero)] = self.values[-1]
            self._derivatives[(1, self.columns[-1], zero)] = self.factors[-1]
        self._smooth = all(_smooth(expr) for pair in self._exprs for expr in pair)
        self._check(plan)

    @property
    def inner(self) -> nn.Module:  # type: ignore[override]
        """The wrapped network ``N``."""
        return self.net

    @property
    def symbolic_derivatives(self) -> bool:
        """Whether ``g`` and ``d`` hold only smooth elementary functions (:data:`_SMOOTH`), so
        that their sympy derivatives compile. False for a function known only numerically (a
        function table entry, e.g. the previous window's end state in marching) or a
        non-smooth one (``Abs``, ``Max``, ``sign``, ``floor``...): then the whole model is
        differentiated by reverse-mode autograd, which gives their derivatives almost
        everywhere."""
        return self._smooth

    @property
    def affine_columns(self) -> list[int]:
        """The constrained output columns."""
        return self.columns

    def offset_derivative(self, column: int, orders: tuple[int, ...], x: torch.Tensor) -> torch.Tensor | None:
        """``D^orders g`` of the constrained ``column`` at ``x`` (None where it is zero)."""
        return self._derivative(0, column, orders, x)

    def factor_derivative(self, column: int, orders: tuple[int, ...], x: torch.Tensor) -> torch.Tensor | None:
        """``D^orders d`` of the constrained ``column`` at ``x`` (None where it is zero)."""
        return self._derivative(1, column, orders, x)

    def _derivative(
        self, which: int, column: int, orders: tuple[int, ...], x: torch.Tensor
    ) -> torch.Tensor | None:
        key = (which, column, orders)
        if key not in self._derivatives:
            expr = self._exprs[self.columns.index(column)][which]
            wrt = [(c, k) for c, k in zip(self.plan.coordinates, orders, strict=True) if k]
            expr = sp.diff(expr, *wrt) if wrt else expr
            what = f"derivative {orders} of the hard-constraint {'values' if which == 0 else 'distance'}"
            self._derivatives[key] = None if expr == 0 else self._compile(expr, what)
        fn = self._derivatives[key]
        return None if fn is None else fn(Env(x.unbind(1), {}, {}))

    def _compile(self, expr: sp.Expr, what: str) -> CompiledExpression:
        return compile_expression(expr, self._ctx, what=what, require_unknown=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if not self.columns:
            return out
        env = Env(x.unbind(1), {}, {})
        cols = list(out.unbind(1))
        for col, g, d in zip(self.columns, self.values, self.factors, strict=True):
            cols[col] = g(env) + d(env) * cols[col]
        return torch.stack(cols, dim=1)

    def _check(self, plan: ConstraintPlan) -> None:
        """Warn when piece values disagree where pieces meet (then they cannot all hold)."""
        gen = torch.Generator().manual_seed(0)
        for g, (name, sides) in zip(self.values, plan.sides.items(), strict=True):
            for s in sides:
                if s.region is not None:
                    pts = s.region.sample(64, gen, torch.float64, torch.device("cpu"))
                else:
                    assert isinstance(s, SideValue)
                    pts = _side_points(plan.coordinates, sides, s, gen)
                env = Env(pts.unbind(1), {}, {})
                want = self._compile(s.value, f"values of {s.term}")(env)
                gap = float((g(env) - want).abs().max())
                if gap > 1e-8 * (1.0 + float(want.abs().max())):
                    warnings.warn(
                        f"hard constraints: the enforced values of {name} disagree where pieces meet "
                        f"(by {gap:.2e} on the piece of {s.term!r}); they cannot all hold exactly",
                        PinnoptWarning,
                        stacklevel=3,
                    )


def _side_points(
    coords: Sequence[sp.Symbol], sides: Sequence[Piece], side: SideValue, gen: torch.Generator
) -> torch.Tensor:
    """Random points on ``side`` with the other constrained coordinates inside their ranges."""
    pts = torch.rand(64, len(coords), generator=gen, dtype=torch.float64)
    for s in sides:
        if isinstance(s, SideValue):
            pts[:, s.axis] = s.lower + (s.upper - s.lower) * pts[:, s.axis]
    pts[:, side.axis] = side.lower if side.end == "lower" else side.upper
    return pts


_SMOOTH = (
    sp.sin, sp.cos, sp.tan, sp.exp, sp.log, sp.sinh, sp.cosh, sp.tanh,
    sp.asin, sp.acos, sp.atan, sp.asinh, sp.acosh, sp.atanh, sp.erf, sp.erfc,
)  # fmt: skip
"""Functions whose sympy derivatives are again smooth elementary functions (hard-constraint
values made of these take Leibniz's rule in Taylor mode)."""


def _smooth(expr: sp.Expr) -> bool:
    """Whether ``expr`` is made of symbols, numbers, sums, products, powers and the functions
    of :data:`_SMOOTH` only (no user, table or non-smooth functions such as ``Abs`` or ``Max``)."""
    return all(
        isinstance(node, (sp.Symbol, sp.Number, sp.NumberSymbol, sp.Add, sp.Mul, sp.Pow, *_SMOOTH))
        for node in sp.preorder_traversal(expr)
    )


def _distance_expr(coords: Sequence[sp.Symbol], dist: Sequence[Distance]) -> sp.Expr:
    """``d``: one factor per constrained coordinate or ball, each scaled to at most 1, vanishing
    on its enforced pieces (compiled for the values, differentiated for Taylor-mode fields)."""
    d: sp.Expr = sp.Integer(1)
    for where, kind, lo, hi in dist:
        if kind == "sphere":
            r2 = sp.Float(float(hi)) ** 2  # type: ignore[arg-type]
            sq = sum((coords[a] - sp.Float(float(c))) ** 2 for a, c in zip(where, lo, strict=True))  # type: ignore[call-overload]
            d = d * (r2 - sq) / r2
            continue
        x, lo_, hi_ = coords[where], sp.Float(float(lo)), sp.Float(float(hi))  # type: ignore[index, arg-type]
        if kind == "both":
            d = d * (x - lo_) * (hi_ - x) * (4 / (hi_ - lo_) ** 2)
        elif kind == "lower":
            d = d * (x - lo_) / (hi_ - lo_)
        else:
            d = d * (hi_ - x) / (hi_ - lo_)
    return d

