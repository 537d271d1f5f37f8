"""The worst-case wrapper term, and the term that pins uncertain coefficients to values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..declare.uncertainty.space import UncertaintySpace
from ..losses import Evaluation, Term
from ..symbolic import Field
from .evaluate import BoundGroup, GroupEvaluator, ScalarView
from .inner import Aggregate, InnerMaximizer, Max, SearchContext, default_method

SPREAD = 0.1
"""Candidates closer than this (in half-widths of the set) are one local worst case."""

_PREFIX = {"Max": "worst", "LogSumExp": "softworst", "CVaR": "cvar", "Mean": "mean"}


class RobustTerm(Term):
    """``aggregate over xi in U of sum_i w_i L_i(theta, xi)`` for a group of terms.

    With the default :class:`~pinnopt.robust.Max` this is the worst case
    ``max_{xi in U} sum_i w_i L_i``. The inner search runs at every evaluation of the loss
    (warm-started, so it mostly refines the previous worst case), so the loss is the worst
    case at the parameters it is evaluated at: L-BFGS keeps the loss of its last accepted
    point and compares line-search trials with it, which is only sound when each evaluation
    is current. The loss is then the aggregate of the losses at the kept candidates, with
    the graph to the trainable parameters (for the hard maximum, Danskin's theorem: the
    gradient at the maximizer).

    Args:
        name: the term's name (default ``worst(a+b)``).
        terms: the wrapped terms: residuals, conditions, data misfits, barriers, any Term.
        space: the uncertain coefficients the worst case is taken over.
        method: the inner maximizer (default: :func:`~pinnopt.robust.inner.default_method`).
        aggregate: how the losses at the candidates become one (default :class:`Max`).
        parametric: the model takes ``xi`` as input (:class:`~pinnopt.robust.ParametricNet`).
        keep: with a hard aggregate, how many of the worst candidates enter the loss.
        every: search at every ``every``-th evaluation and reuse the candidates in between
            (cheaper; safe with Adam, or with L-BFGS when the worst case does not move).
        seed: seeds the search's random points.
        certificate: points of the dense search that checks the worst case after training.
        search_terms: terms whose weighted sum the inner maximizer maximizes instead of the
            wrapped terms' (default: the wrapped terms). For a penalty that is flat where a
            constraint holds, e.g. ``max(0, g)^2``, gradient ascent sees no slope; searching
            ``g`` itself finds the same worst case (the penalty is monotone in ``g``).
    """

    def __init__(
        self,
        name: str | None,
        terms: Sequence[Term],
        space: UncertaintySpace,
        *,
        method: InnerMaximizer | None = None,
        aggregate: Aggregate | None = None,
        parametric: bool = False,
        keep: int = 4,
        every: int = 1,
        seed: int = 0,
        certificate: int = 2001,
        search_terms: Sequence[Term] | None = None,
    ) -> None:
        self.terms = tuple(terms)
        self.space = space
        self.method = method if method is not None else default_method(space)
        self.method.check(space)
        self.aggregate = aggregate if aggregate is not None else Max()
        prefix = _PREFIX.get(type(self.aggregate).__name__, "robust")
        self.name = name or f"{prefix}({'+'.join(t.name for t in self.terms)})"
        self.weight = 1.0
        self.point_set = None
        self.evaluator = GroupEvaluator(self.terms, space.names, parametric=parametric)
        self.searcher = (
            self.evaluator
            if search_terms is None
            else GroupEvaluator(tuple(search_terms), space.names, parametric=parametric)
        )
        self.keep = int(keep)
        self.every = int(every)
        self.seed = int(seed)
        self.certificate = int(certificate)
        self._ctx: SearchContext | None = None
        self._pending: dict[str, Any] | None = None
        self._candidates: torch.Tensor | None = None
        self._worst: torch.Tensor | None = None
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None
        self._count = 0  # loss evaluations

    @property
    def fields(self) -> frozenset[Field]:
        return frozenset()

    @property
    def parametric(self) -> bool:
        """True when the network takes the uncertain coefficients as extra inputs."""
        return self.evaluator.parametric

    # -- the loss -----------------------------------------------------------------------------
    def context(self, ev: Evaluation) -> SearchContext:
        """The search context, created on first use on the points' device and dtype."""
        if self._ctx is None:
            ref = ev.points[self.evaluator.point_sets[0]].x if self.evaluator.point_sets else None
            dtype = ref.dtype if ref is not None else torch.float64
            device = ref.device if ref is not None else torch.device("cpu")
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed)
            self._ctx = SearchContext(self.space, gen, dtype, device)
            if self._pending is not None:
                self._restore(self._pending)
                self._pending = None
        return self._ctx

    def search(
        self, ev: Evaluation, ctx: SearchContext, bound: BoundGroup | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the inner maximizer; return all its candidates and their search values (detached).

        ``bound``: the loss group already attached to ``ev`` (its model outputs are reused).
        """
        if bound is None or self.searcher is not self.evaluator:
            bound = self.searcher.bind(ev)

        def f(xi: torch.Tensor, grad: bool) -> torch.Tensor:
            return bound.values(xi, "search_grad" if grad else "search")

        with torch.enable_grad():
            cand, values = self.method.search(f, ctx)
        return cand.detach(), values.detach()

    def loss(self, ev: Evaluation) -> torch.Tensor:
        bound = self.evaluator.bind(ev)
        ctx = self.context(ev)
        direct = False
        self._count += 1
        if self._candidates is None or (self._count - 1) % max(1, self.every) == 0:
            fixed = self.method.points(ctx)
            direct = fixed is not None and (not self.aggregate.hard or fixed.shape[0] <= self.keep)
            self._candidates = fixed if direct else self.refresh(ev, ctx, bound)
        values = bound.values(self._candidates, "loss")
        self._last = (self._candidates, values.detach())
        if direct:
            self._worst = _row(self._candidates, values.detach().argmax())
        return self.aggregate(values)

    def selection(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(xi, c)``: the candidates (rows of ``xi``) and convex weights ``c`` whose
        combination ``sum_j c_j L(xi_j)`` is the loss of the last evaluation, e.g. the
        maximizer with weight 1 for :class:`Max` (see :meth:`Aggregate.select`). None before
        the first evaluation or when the aggregate is no such combination (LogSumExp)."""
        if self._last is None:
            return None
        cand, values = self._last
        picked = self.aggregate.select(values)
        if picked is None:
            return None
        index, coef = picked
        return cand.index_select(0, index), coef

    def refresh(self, ev: Evaluation, ctx: SearchContext, bound: BoundGroup | None = None) -> torch.Tensor:
        """Search, and choose the candidates the loss uses until the next search.

        With a hard aggregate the previous step's kept candidates compete again (an active
        set: at a min-max optimum several ``xi`` are worst at once, e.g. both ends of an
        interval, and a search that sees only one of them would make the outer steps
        oscillate); the ``keep`` worst of the union are kept.
        """
        cand, values = self.search(ev, ctx, bound)
        self._worst = _row(cand, values.argmax())
        if not self.aggregate.hard:
            return cand
        if self._candidates is not None and self._candidates.shape[1] == cand.shape[1]:
            old = self._candidates
            cand = torch.cat([cand, old])
            searcher = (
                bound if bound is not None and self.searcher is self.evaluator else self.searcher.bind(ev)
            )
            values = torch.cat([values, searcher.values(old, "search")])
        return distinct_top(cand, values, self.keep, ctx.constant("scale", self.space.scale))

    @property
    def worst(self) -> torch.Tensor | None:
        """The worst ``xi`` of the last search (a tensor; no host synchronization)."""
        return self._worst

    def on_step(self, step: int) -> None:
        for t in self.terms:
            t.on_step(step)

    # -- training state -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Warm starts, the current candidates, the random state and the inner terms' state."""
        state: dict[str, Any] = {
            "count": self._count,
            "terms": {t.name: t.state_dict() for t in self.terms},
        }
        if self._ctx is not None:
            state["search"] = {k: v.detach().clone() for k, v in self._ctx.state.items()}
            state["generator"] = self._ctx.generator.get_state()
        if self._candidates is not None:
            state["candidates"] = self._candidates.detach().clone()
        if self._worst is not None:
            state["worst"] = self._worst.detach().clone()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._count = int(state.get("count", 0))
        for t in self.terms:
            t.load_state_dict(state.get("terms", {}).get(t.name, {}))
        if self._ctx is None:
            self._pending = dict(state)
        else:
            self._restore(state)

    def _restore(self, state: Mapping[str, Any]) -> None:
        ctx = self._ctx
        assert ctx is not None
        ctx.state = {k: v.to(dtype=ctx.dtype, device=ctx.device) for k, v in state.get("search", {}).items()}
        if "generator" in state:
            ctx.generator.set_state(state["generator"])
        if "candidates" in state:
            self._candidates = state["candidates"].to(dtype=ctx.dtype, device=ctx.device)
        if "worst" in state:
            self._worst = state["worst"].to(dtype=ctx.dtype, device=ctx.device)

    def __repr__(self) -> str:
        return f"RobustTerm({self.name!r}, {[t.name for t in self.terms]}, {self.method}, {self.aggregate})"


class AtValues(Term):
    """A term evaluated with some scalars fixed, e.g. uncertain coefficients at nominal values.

    It shares the outer evaluation's model outputs (same point set and fields).
    """

    def __init__(self, term: Term, values: Mapping[str, float]) -> None:
        self.term = term
        self.values = {str(k): float(v) for k, v in values.items()}
        self.name = term.name
        self.weight = term.weight
        self.point_set = term.point_set
        self._tensors: dict[tuple[torch.dtype, torch.device], dict[str, torch.Tensor]] = {}

    @property
    def fields(self) -> frozenset[Field]:
        return self.term.fields

    def _scalars(self, ev: Evaluation) -> dict[str, torch.Tensor]:
        ref = next(iter(ev.points.values())).x
        key = (ref.dtype, ref.device)
        if key not in self._tensors:
            self._tensors[key] = {
                k: torch.tensor(v, dtype=ref.dtype, device=ref.device) for k, v in self.values.items()
            }
        return self._tensors[key]

    def view(self, ev: Evaluation) -> Evaluation:
        """``ev`` with the fixed scalars set (the wrapped term reads its values from it)."""
        return ScalarView(ev, self._scalars(ev))

    def loss(self, ev: Evaluation) -> torch.Tensor:
        return self.term.loss(self.view(ev))

    def on_step(self, step: int) -> None:
        self.term.on_step(step)

    def state_dict(self) -> dict[str, Any]:
        return self.term.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.term.load_state_dict(state)

    def __repr__(self) -> str:
        return f"AtValues({self.term!r}, {self.values})"


def distinct_top(cand: torch.Tensor, values: torch.Tensor, keep: int, scale: torch.Tensor) -> torch.Tensor:
    """The ``keep`` worst candidates, skipping near-repeats of a better one.

    Restarts often converge to the same point, and samples crowd near one end of an
    interval; two candidates closer than :data:`SPREAD` half-widths count as one local
    worst case, so the kept set covers several (an active set). Vectorized: no host
    synchronization."""
    if cand.shape[0] <= 1:
        return cand
    order = torch.argsort(values, descending=True)
    c, v = cand[order], values[order]
    z = c / scale
    close = torch.cdist(z, z) <= SPREAD
    earlier = torch.ones_like(close).triu(1)  # [i, j]: i ranks before j
    repeat = (close & earlier).any(0)
    v = torch.where(repeat, torch.full_like(v, -torch.inf), v)
    return c[torch.topk(v, min(keep, len(v))).indices]


def _row(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Row ``index`` (a 0-d tensor) of ``x`` without reading the index on the host."""
    return x.index_select(0, index.reshape(1))[0]
