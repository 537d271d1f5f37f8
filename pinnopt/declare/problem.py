"""The declarative problem: domain, equations, conditions, parameters, exact solution.

Everything is checked and compiled when the :class:`Problem` is built, so a typo in an
equation fails at declaration time with a message naming the bad symbol, not after
minutes of training.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
import torch

from ..domain import Domain, NoCoordinates
from ..errors import ProblemError, as_number
from ..symbolic import (
    DEFAULT_FUNCTIONS,
    CompiledExpression,
    SymbolContext,
    as_expression,
    compile_expression,
)
from .checks import check_uncertain_used, check_unknowns_determined, with_exact
from .constraints import compile_constraints, declared_expressions
from .exact import ExactSolution, unknown_name
from .grids import evaluation_grid
from .items import Condition, On, Parameter, TermSpec, interior
from .objective import CompiledLoss, as_losses, compile_losses
from .term_specs import find_unknowns, term_specs
from .uncertainty.space import UncertaintySpace, normalize_uncertain

if TYPE_CHECKING:  # pragma: no cover
    from .constraints import ConstraintSet
    from .uncertainty.space import Uncertain, UncertaintySpace

log = logging.getLogger("pinnopt")


@dataclass(frozen=True)
class Problem:
    """A differential-equation problem, a data fit or an optimization, declared with sympy.

    A problem with no unknown function is an optimization over its parameters: losses
    (``minimize=``), observations of expressions of the parameters, bounds, equalities,
    priors and uncertainty sets; :func:`pinnopt.solve` trains it with ``model=None``
    (docs/optimization.md).

    Args:
        domain: where the problem lives (``Interval``, products of intervals, ...); None for
            an optimization over parameters only (then ``domain`` is a
            :class:`~pinnopt.domain.NoCoordinates`).
        equations: expressions (or ``Eq``) that vanish in the interior, or :class:`On`
            items for equations on other regions.
        conditions: :class:`On` items: boundary, initial and point conditions.
        parameters: trainable coefficients: :class:`Parameter` items, or a dict
            ``{symbol: initial_value}``.
        exact: the exact or reference solution: a sympy expression (one unknown), a dict
            ``{u: expression_or_callable}``, or ``f(points) -> array``.
        unknowns: the unknown functions in model-output order (default: sorted by name).
        functions: extra sympy -> torch functions ``{name: callable}``, for known functions
            such as ``sp.Function("f")(x)`` or sympy functions missing from the table.
        constants: symbols with fixed values ``{symbol: value}``.
        name: a short identifier (used in reports and file names).
        description: one line about the problem.
        data: observations (:class:`~pinnopt.Observations`) that the solution must fit.
        eval_grid: the validation grid: points per coordinate (int or one per coordinate)
            or an ``(N, dim)`` array of points. Default: about 10^4-10^5 grid points.
        bounds: inequalities on parameters or unknowns (``k >= 0.1``, ``u <= 1``,
            ``po.between(c, 0, 1)``, ``po.Bound(u >= psi, m=1e4)``), enforced by barriers or
            exactly (see docs/constraints.md).
        regularization: soft pulls of parameters (``po.L2``, ``po.L1``, ``po.Range``).
        equalities: equality constraints between parameters (``sympy.Eq(a + b, 1)`` or
            ``po.Equality``); after construction a tuple of ``po.Equality`` whose ``.expr``
            is the expression that must vanish.
        energy: ``po.Energy(integrand)`` items: integrals over the domain added to the loss.
        uncertain: uncertain coefficients: ``{symbol: po.robust.BoxSet(lo, hi)}``, ``{(a, b): set}`` or
            :class:`~pinnopt.robust.Uncertain` items (with a nominal value). Expressions read
            them like parameters; :func:`pinnopt.solve` takes the worst case over their sets
            (see docs/robust.md); validation uses the nominal values.
        minimize: losses: a sympy expression of the parameters (and uncertain coefficients),
            a :class:`~pinnopt.Minimize` item or a list of them; each is a loss term added as
            is (``weight * expr``). After construction a tuple of ``po.Minimize``.
        exact_parameters: the known optimum ``{symbol: value}`` of some parameters (the same
            as ``po.Parameter(..., exact=)``); ``Result.validate()`` reports their errors.
    """

    domain: Domain | None = None
    equations: Sequence[Any] = ()
    conditions: Sequence[On] = ()
    parameters: Sequence[Parameter] | Mapping[sp.Symbol, float] = ()
    exact: Any = None
    unknowns: Sequence[Any] | None = None
    functions: Mapping[str, Callable[..., torch.Tensor]] = field(default_factory=dict)
    constants: Mapping[sp.Symbol, float] = field(default_factory=dict)
    name: str = "problem"
    description: str = ""
    eval_grid: Any = None
    data: Sequence[Any] = ()
    bounds: Sequence[Any] = ()
    regularization: Sequence[Any] = ()
    equalities: Sequence[Any] = ()
    energy: Any = ()
    uncertain: Sequence[Uncertain] | Mapping[Any, Any] = ()
    minimize: Any = ()
    exact_parameters: Mapping[sp.Symbol, float] | None = None

    def __post_init__(self) -> None:
        if self.domain is None:
            object.__setattr__(self, "domain", NoCoordinates())
        if not isinstance(self.domain, Domain):
            raise ProblemError(
                f"Problem.domain must be a pinnopt domain (e.g. po.Interval(x, 0, 1)) or None, got "
                f"{type(self.domain).__name__}"
            )
        if not isinstance(self.name, str) or not self.name:
            raise ProblemError(f"Problem(name={self.name!r}): expected a non-empty string")
        equations = _as_tuple(self.equations, "equations")
        conditions = _as_tuple(self.conditions, "conditions")
        for i, c in enumerate(conditions):
            if not isinstance(c, (On, Condition)):
                raise ProblemError(
                    f"condition {i} must be po.On(region, expression) or a condition such as "
                    f"po.Periodic, got {type(c).__name__}: {c!r}"
                )
        data = tuple(_as_tuple(self.data, "data"))
        for i, d in enumerate(data):
            if not isinstance(d, Condition):
                raise ProblemError(f"data item {i} must be po.Observations, got {type(d).__name__}: {d!r}")
        losses = as_losses(self.minimize)
        if not equations and not conditions and not data and not self.energy and not losses:
            raise ProblemError(
                "a problem needs at least one equation, condition, observation or energy, or a loss to "
                "minimize over its parameters (minimize=)"
            )
        parameters = with_exact(_normalize_parameters(self.parameters), self.exact_parameters)
        constants = {
            s: as_number(v, f"constants[{s}]", ProblemError) for s, v in dict(self.constants).items()
        }
        for s in constants:
            if not isinstance(s, sp.Symbol):
                raise ProblemError(f"constants keys must be sympy Symbols, got {s!r}")

        uncertain = normalize_uncertain(self.uncertain)
        uncertain_symbols = [s for u in uncertain for s in u.symbols]
        table = DEFAULT_FUNCTIONS.extended(dict(self.functions))
        coords = self.domain.coordinates
        clash = {p.symbol for p in parameters} & set(coords)
        clash |= set(constants) & (set(coords) | {p.symbol for p in parameters})
        clash |= set(uncertain_symbols) & (set(coords) | {p.symbol for p in parameters} | set(constants))
        if clash:
            raise ProblemError(
                f"symbols {sorted(map(str, clash))} are declared twice (coordinate, parameter, "
                "constant or uncertain coefficient); each symbol has one role"
            )
        items = [e if isinstance(e, On) else On(interior, e, name=None) for e in equations]
        exprs = [
            as_expression(it.expr, f"{'equation' if k < len(items) else 'condition'} {k}")
            for k, it in enumerate([*items, *(c for c in conditions if isinstance(c, On))])
        ]
        exprs += [e for c in (*conditions, *data) if isinstance(c, Condition) for e in c.expressions()]

        exprs += declared_expressions(self.bounds, self.energy)
        exprs += [sp.sympify(m.expr) for m in losses]
        unknowns, unknown_coords = find_unknowns(exprs, table, coords)
        declared: tuple[str, ...] = ()
        if self.unknowns is not None:
            declared = tuple(unknown_name(u) for u in self.unknowns)
            if sorted(declared) != sorted(unknowns):
                raise ProblemError(f"unknowns={list(declared)} but the equations use {list(unknowns)}")
            unknowns = declared
        check_unknowns_determined(
            unknowns, exprs[: len(items)], declared_expressions((), self.energy), table, declared
        )
        ctx = SymbolContext(
            coordinates=coords,
            unknowns=unknowns,
            scalars=tuple(p.symbol for p in parameters) + tuple(uncertain_symbols),
            constants=constants,
            functions=table,
            unknown_coordinates=unknown_coords,
        )
        terms = term_specs(self.domain, items, conditions, data, ctx)
        compiled_losses = compile_losses(losses, ctx, [p.name for p in parameters], [t.name for t in terms])
        constraints = compile_constraints(
            self.domain,
            ctx,
            {p.name: float(p.init) for p in parameters},
            bounds=self.bounds,
            regularization=self.regularization,
            equalities=self.equalities,
            energy=self.energy,
            shared_regions={t.region.name: t.region for t in terms},
            taken=[t.name for t in terms] + [c.name for c in compiled_losses],
        )
        check_uncertain_used(uncertain, terms, compiled_losses, constraints)
        object.__setattr__(self, "bounds", constraints.bounds)
        object.__setattr__(self, "regularization", tuple(r.regularizer for r in constraints.regularization))
        object.__setattr__(self, "equalities", constraints.equalities)
        object.__setattr__(self, "energy", tuple(e.energy for e in constraints.energies))
        object.__setattr__(self, "_constraints", constraints)
        object.__setattr__(self, "equations", equations)
        object.__setattr__(self, "conditions", conditions)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "parameters", parameters)
        object.__setattr__(self, "constants", constants)
        object.__setattr__(self, "uncertain", uncertain)
        object.__setattr__(self, "unknowns", unknowns)
        object.__setattr__(self, "_context", ctx)
        object.__setattr__(self, "_terms", terms)
        object.__setattr__(self, "minimize", losses)
        object.__setattr__(self, "_losses", compiled_losses)
        object.__setattr__(
            self, "exact_parameters", {p.symbol: p.exact for p in parameters if p.exact is not None}
        )
        exact = None
        if self.exact is not None:
            subs = dict(constants)
            subs.update({p.symbol: p.exact for p in parameters if p.exact is not None})
            subs.update(
                {sym: float(v) for u in uncertain for sym, v in zip(u.symbols, u.nominal, strict=True)}
            )
            exact = ExactSolution(self.exact, coords, unknowns, subs)
        object.__setattr__(self, "_exact", exact)

    # -- derived views ----------------------------------------------------------------------
    @property
    def coordinates(self) -> tuple[sp.Symbol, ...]:
        """The independent variables, in model-input order."""
        return self.domain.coordinates

    @property
    def context(self) -> SymbolContext:
        """The names the problem's expressions use and the function table."""
        return self._context  # type: ignore[attr-defined]

    @property
    def terms(self) -> tuple[TermSpec, ...]:
        """Every equation and condition, compiled, with its region and weight."""
        return self._terms  # type: ignore[attr-defined]

    @property
    def losses(self) -> tuple[CompiledLoss, ...]:
        """The compiled ``minimize=`` losses (expressions of the parameters), in order."""
        return self._losses  # type: ignore[attr-defined]

    @property
    def has_domain(self) -> bool:
        """Whether the problem has coordinates (False for an optimization over parameters)."""
        return not isinstance(self.domain, NoCoordinates)

    @property
    def constraints(self) -> ConstraintSet:
        """The compiled bounds, regularization, equalities and energies (a ``ConstraintSet``)."""
        return self._constraints  # type: ignore[attr-defined]

    @property
    def uncertainty(self) -> UncertaintySpace | None:
        """The joint space of the uncertain coefficients, or None when there are none."""
        if not self.uncertain:
            return None

        return UncertaintySpace(self.uncertain)  # type: ignore[arg-type]

    @property
    def exact_solution(self) -> ExactSolution | None:
        """The normalized exact solution, or None."""
        return self._exact  # type: ignore[attr-defined]

    def compile(
        self, expr: Any, what: str = "expression", require_unknown: bool = True
    ) -> CompiledExpression:
        """Compile another expression in this problem's context (e.g. a derivative to predict)."""
        return compile_expression(expr, self.context, what=what, require_unknown=require_unknown)

    def evaluation_points(self) -> np.ndarray:
        """The fixed validation grid, shape ``(N, dim)``, float64.

        Default: a reference file's own points, else the domain's regular grid (a bounding-box
        grid filtered by ``contains`` for domains without one).
        """
        grid = self.eval_grid
        if grid is None:
            if self.exact_solution is not None and self.exact_solution.reference_points is not None:
                return self.exact_solution.reference_points
            per_axis = {1: 1001, 2: 201, 3: 41}.get(self.domain.dim, 11)
            return evaluation_grid(self.domain, per_axis)
        if isinstance(grid, (int, np.integer)) or (
            isinstance(grid, Sequence) and all(isinstance(k, (int, np.integer)) for k in grid)
        ):
            return evaluation_grid(self.domain, grid)
        try:
            pts = np.asarray(grid, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ProblemError(
                f"eval_grid={grid!r}: expected points per coordinate (int or list of ints) or an "
                f"(N, {self.domain.dim}) array of points"
            ) from exc
        if pts.ndim != 2 or pts.shape[1] != self.domain.dim:
            raise ProblemError(f"eval_grid has shape {pts.shape}; expected (N, {self.domain.dim}) points")
        if not np.isfinite(pts).all():
            raise ProblemError("eval_grid points contain NaN or Inf")
        return pts

    # -- construction helpers -----------------------------------------------------------------
    @property
    def unknown_coordinates(self) -> dict[str, tuple[sp.Symbol, ...]]:
        """The coordinates each unknown depends on (all of them unless declared as ``a(x)``)."""
        sub = self.context.unknown_coordinates
        return {u: tuple(sub.get(u, self.coordinates)) for u in self.unknowns}


def _as_tuple(items: Any, what: str) -> tuple[Any, ...]:
    if items is None:
        return ()
    if isinstance(items, (sp.Basic, On, Condition)):
        return (items,)
    try:
        return tuple(items)
    except TypeError as exc:
        raise ProblemError(f"Problem.{what} must be a list, got {type(items).__name__}") from exc


def _normalize_parameters(params: Any) -> tuple[Parameter, ...]:
    if isinstance(params, Mapping):
        out = tuple(Parameter(s, as_number(v, f"parameters[{s}]", ProblemError)) for s, v in params.items())
    else:
        out = tuple(_as_tuple(params, "parameters"))
    for p in out:
        if not isinstance(p, Parameter):
            raise ProblemError(f"parameters must be po.Parameter items or a dict, got {p!r}")
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise ProblemError(f"parameters declared twice: {names}")
    return out
