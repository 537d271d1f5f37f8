"""Declaring which terms are robust, and turning a problem's terms into robust ones.

``po.solve(problem, robust=...)``:

- ``None`` (default) or ``True``: when the problem declares uncertain coefficients, one
  worst-case group holding every term that depends on them (every term, with a parametric
  model); nothing otherwise.
- ``False``: the nominal solve: every uncertain coefficient at its nominal value.
- a :class:`Robust` or a list of them: explicit groups. Terms that read an uncertain
  coefficient but belong to no group are evaluated at the nominal value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..declare.uncertainty.space import UncertaintySpace
from ..errors import ConfigError, ProblemError
from ..losses import Term
from .inner import Aggregate, InnerMaximizer, Max, default_method
from .term import AtValues, RobustTerm

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem


@dataclass(frozen=True)
class Robust:
    """A group of a problem's terms whose aggregate over the uncertainty set is minimized.

    Args:
        terms: names of the problem's terms (``"pde"``, ``"x=0"``, an ``On(..., name=)``),
            or None for every term that depends on an uncertain coefficient and is in no
            other group.
        method: the inner maximizer (default: Vertices for scenario sets, else PGA plus
            the vertices when there are at most 64).
        aggregate: :class:`~pinnopt.robust.Max` (the worst case, default),
            :class:`~pinnopt.robust.LogSumExp` / :class:`~pinnopt.robust.CVaR` (soft worst
            cases) or :class:`~pinnopt.robust.Mean` (an average over the set).
        name: the loss term's name (default ``worst(a+b)``).
        keep: with the hard maximum, how many worst candidates enter the loss.
        every: search at every ``every``-th loss evaluation (1: each; see RobustTerm).
        seed: seeds the search.
        certificate: points of the dense independent search that checks the worst case
            after training.
    """

    terms: Sequence[str] | str | None = None
    method: InnerMaximizer | None = None
    aggregate: Aggregate = field(default_factory=Max)
    name: str | None = None
    keep: int = 4
    every: int = 1
    seed: int = 0
    certificate: int = 2001

    def __post_init__(self) -> None:
        terms = self.terms
        if isinstance(terms, str):
            terms = (terms,)
        if terms is not None:
            terms = tuple(terms)
            if not terms or not all(isinstance(t, str) and t for t in terms):
                raise ConfigError(f"Robust(terms={self.terms!r}): expected term names (non-empty strings)")
        object.__setattr__(self, "terms", terms)
        if self.method is not None and not isinstance(self.method, InnerMaximizer):
            raise ConfigError(
                f"Robust(method={self.method!r}): expected po.robust.Vertices(), po.robust.GridSearch(), "
                "po.robust.Sampling() or po.robust.PGA()"
            )
        if not isinstance(self.aggregate, Aggregate):
            raise ConfigError(
                f"Robust(aggregate={self.aggregate!r}): expected po.robust.Max(), LogSumExp(), "
                "CVaR() or Mean()"
            )
        for key in ("keep", "every", "certificate"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"Robust({key}={v!r}): expected an int >= 1")


@dataclass(frozen=True)
class Group:
    """A resolved group: its spec, the problem's term names, and the space searched."""

    spec: Robust
    terms: tuple[str, ...]
    space: UncertaintySpace

    def config(self) -> dict[str, Any]:
        """JSON-ready description."""
        method = self.spec.method if self.spec.method is not None else default_method(self.space)
        return {
            "name": self.spec.name,
            "terms": list(self.terms),
            "over": self.space.describe(),
            **method.config(),
            **self.spec.aggregate.config(),
            "keep": self.spec.keep,
            "every": self.spec.every,
        }


def uncertain_names(problem: Problem) -> set[str]:
    """Names of the problem's uncertain coefficients."""
    return {n for u in problem.uncertain for n in u.names}


def check_equalities(problem: Problem, groups: Sequence[Group]) -> None:
    """Refuse hard equality constraints that involve an uncertain coefficient in a robust solve.

    Equality constraints on parameters (``problem.equalities``: objects with ``.expr``, a
    sympy expression that must vanish) are one equation per value of the uncertain
    coefficient; asked to hold for every value of a set they generically have no solution.
    """
    equalities = tuple(getattr(problem, "equalities", ()) or ())
    if not equalities or not groups:
        return
    symbols = {s for u in problem.uncertain for s in u.symbols}
    grouped = {n for g in groups for n in g.terms}
    for eq in equalities:
        expr = getattr(eq, "expr", eq)
        hit = sorted(str(s) for s in getattr(expr, "free_symbols", set()) & symbols)
        name = getattr(eq, "name", None)
        if hit or (name is not None and name in grouped):
            where = "; ".join(f"{', '.join(u.names)} in {u.set}" for u in problem.uncertain)
            raise ProblemError(
                f"equality constraint {expr} = 0 "
                + (f"involves the uncertain coefficient(s) {hit} " if hit else "is declared robust ")
                + f"({where}). A hard equality cannot hold for every value in an uncertainty set: it is "
                "one equation per value, and generically no parameters satisfy all of them at once. "
                "Impose it at the nominal value (substitute the nominal into the expression), or write "
                "it as a residual term in a po.robust.Robust group (a worst-case penalty: it minimizes the "
                "largest violation instead of enforcing zero), or solve with robust=False"
            )


def resolve(problem: Problem, robust: Any, *, parametric: bool = False) -> list[Group]:
    """The robust groups of a solve (see the module docstring for the accepted values)."""
    space = problem.uncertainty
    if robust is False:
        return []
    if space is None:
        if robust is None:
            return []
        raise ConfigError(
            "robust= was given but the problem declares no uncertain coefficients; declare them with "
            "Problem(uncertain={symbol: po.robust.BoxSet(lo, hi)})"
        )
    if robust is None or robust is True:
        specs: list[Robust] = [Robust()]
    elif isinstance(robust, Robust):
        specs = [robust]
    else:
        try:
            specs = list(robust)
        except TypeError as exc:
            raise ConfigError(
                f"robust={robust!r}: expected True/False, a po.robust.Robust or a list of them"
            ) from exc
        bad = [s for s in specs if not isinstance(s, Robust)]
        if bad or not specs:
            raise ConfigError(f"robust={robust!r}: expected True/False, a po.robust.Robust or a list of them")
    names = [t.name for t in problem.terms] + [c.name for c in problem.losses]
    reads = {t.name: set(t.expr.scalars) & set(space.names) for t in problem.terms}
    reads.update({c.name: set(c.compiled.scalars) & set(space.names) for c in problem.losses})
    claimed: dict[str, int] = {}
    for i, s in enumerate(specs):
        for n in s.terms or ():
            if n not in names:
                raise ConfigError(f"Robust(terms=...): no term named {n!r}; the problem's terms are {names}")
            if n in claimed:
                raise ConfigError(
                    f"term {n!r} is in two robust groups ({claimed[n]} and {i}); a term has one"
                )
            claimed[n] = i
    groups: list[Group] = []
    for s in specs:
        if s.terms is not None:
            members = tuple(s.terms)
        else:
            members = tuple(n for n in names if n not in claimed and (parametric or reads[n]))
            for n in members:
                claimed[n] = -1
        if not members:
            raise ConfigError(
                "Robust(): no term depends on the uncertain coefficients "
                f"{list(space.names)} (and none is left unclaimed); name the terms with Robust(terms=[...])"
            )
        read = set().union(*(reads[n] for n in members))
        if parametric:
            group_space = space
        elif read:
            group_space = space.restrict(sorted(read))
        else:
            raise ConfigError(
                f"robust group {list(members)} does not read any uncertain coefficient "
                f"{list(space.names)} and the model is not parametric: its worst case is its nominal "
                "value. Use po.robust.Parametric(...) when the solution depends on the coefficient, or put "
                "terms that read it in the group"
            )
        method = s.method if s.method is not None else default_method(group_space)
        method.check(group_space)
        groups.append(Group(s, members, group_space))
    check_equalities(problem, groups)
    return groups


def robust_terms(
    problem: Problem,
    terms: Sequence[Term],
    groups: Sequence[Group],
    *,
    parametric: bool = False,
) -> list[Term]:
    """Replace each group's terms by one :class:`RobustTerm` (at the first member's place);
    pin every other term that reads an uncertain coefficient to the nominal values."""
    space = problem.uncertainty
    if space is None:
        return list(terms)
    by_name = {t.name: t for t in terms}
    nominal = space.as_dict(space.nominal)
    group_of = {n: i for i, g in enumerate(groups) for n in g.terms}
    out: list[Term] = []
    placed: set[int] = set()
    for t in terms:
        i = group_of.get(t.name)
        if i is None:
            out.append(AtValues(t, nominal) if _reads(t, nominal) else t)
            continue
        if i in placed:
            continue
        placed.add(i)
        g = groups[i]
        out.append(
            RobustTerm(
                g.spec.name,
                [by_name[n] for n in g.terms],
                g.space,
                method=g.spec.method,
                aggregate=g.spec.aggregate,
                parametric=parametric,
                keep=g.spec.keep,
                every=g.spec.every,
                seed=g.spec.seed,
                certificate=g.spec.certificate,
            )
        )
    return out


def _reads(term: Term, names: dict[str, float]) -> bool:
    expr = getattr(term, "expr", None)
    scalars = getattr(expr, "scalars", None)
    if scalars is None:  # an unknown kind of term: give it the nominal values to be safe
        return True
    return bool(set(scalars) & set(names))
