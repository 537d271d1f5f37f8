"""Evaluating a group of loss terms at many values of the uncertain coefficients.

Two cases:

- The model does not depend on ``xi`` (``xi`` enters only the equations): the model and
  its derivatives are evaluated once per point set, shared with the outer objective where
  its evaluation already covers the fields; the terms are re-evaluated per ``xi``. For
  :class:`~pinnopt.losses.ResidualTerm` this is vectorized: ``xi`` columns of shape
  ``(K, 1)`` broadcast against the ``(N,)`` fields to ``(K, N)`` residuals.
- A parametric model (:class:`~pinnopt.robust.ParametricNet`) takes ``xi`` as input: the
  points are repeated ``K`` times and the model evaluated once on ``K * N`` rows, with
  ``xi`` appended row by row, so gradients reach ``xi`` through the network.

Other terms (barriers, custom terms) are evaluated once per ``xi`` value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..losses import Evaluation, PointSet, ResidualTerm, Term
from ..losses.objective import derivative_plans
from ..symbolic import DerivativePlan, Env
from .parametric import ParametricNet

MAX_ROWS = 1 << 16
"""Rows per batched evaluation (``K * N``); larger batches of ``xi`` are split."""


class ScalarView(Evaluation):
    """The environments of ``base`` with some scalars replaced (and optionally detached)."""

    def __init__(self, base: Evaluation, scalars: Mapping[str, Any], *, detach: bool = False) -> None:
        kept = base.scalars
        if detach:  # the base's scalars (trainable parameters) leave the graph; overrides stay
            kept = {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in kept.items()}
        merged = {**kept, **scalars}
        super().__init__(
            base.model,
            base.points,
            base.plans,
            base.engine,
            base.unknowns,
            scalars=merged,
            create_graph=base.create_graph,
        )
        self.scalars = merged
        self.base = base
        self.detach = detach
        self._own: dict[str, Env] = {}

    def env(self, name: str) -> Env:
        env = self._own.get(name)
        if env is None:
            b = self.base.env(name)
            fields = {k: v.detach() for k, v in b.fields.items()} if self.detach else b.fields
            env = Env(b.coords, fields, self.scalars, b.data)
            self._own[name] = env
        return env


class _GroupFields(Evaluation):
    """The group's fields; point sets the outer evaluation already covers are shared with it."""

    def __init__(self, parent: Evaluation, plans: Mapping[str, DerivativePlan]) -> None:
        super().__init__(
            parent.model,
            parent.points,
            plans,
            parent.engine,
            parent.unknowns,
            scalars=parent.scalars,
            create_graph=parent.create_graph,
        )
        self.scalars = dict(parent.scalars)
        self.parent = parent

    def env(self, name: str) -> Env:
        theirs = self.parent.plans.get(name)
        if theirs is not None and theirs.wanted >= self.plans[name].wanted:
            return self.parent.env(name)
        return super().env(name)


class _WithXi(nn.Module):
    """A parametric PINN with ``xi`` bound: ``K`` values, each applied to a block of rows."""

    def __init__(self, model: nn.Module, xi: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.xi = xi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.xi.shape[0]
        rows = self.xi.repeat_interleave(x.shape[0] // k, 0) if k > 1 else self.xi.expand(x.shape[0], -1)
        return self.model.net(x, rows)

    def scalars(self) -> dict[str, torch.Tensor]:
        return self.model.scalars() if hasattr(self.model, "scalars") else {}


class _Batched(Evaluation):
    """Point sets repeated ``K`` times; block ``k`` sees ``xi[k]`` in the model and the scalars."""

    def __init__(
        self,
        parent: Evaluation,
        plans: Mapping[str, DerivativePlan],
        xi: torch.Tensor,
        names: Sequence[str],
        *,
        create_graph: bool,
    ) -> None:
        super().__init__(
            _WithXi(parent.model, xi),
            parent.points,
            plans,
            parent.engine,
            parent.unknowns,
            scalars={k: v for k, v in parent.scalars.items() if k not in names},
            create_graph=create_graph,
        )
        self.xi = xi
        self.names = tuple(names)
        self._own: dict[str, Env] = {}

    def env(self, name: str) -> Env:
        env = self._own.get(name)
        if env is None:
            ps = self.points[name]
            k, n = self.xi.shape[0], len(ps)
            x = ps.x.repeat(k, 1)
            fields = self.engine.evaluate(
                self.model, x, self.plans[name], self.unknowns, create_graph=self.create_graph
            )
            rows = self.xi.repeat_interleave(n, 0)
            scalars = {**self.scalars, **{s: rows[:, j] for j, s in enumerate(self.names)}}
            data = {key: v.repeat(k, *([1] * (v.dim() - 1))) for key, v in ps.data.items()}
            env = Env(x.unbind(1), fields, scalars, data)
            self._own[name] = env
        return env


def _vectorizable(term: Term) -> bool:
    t = type(term)
    return (
        isinstance(term, ResidualTerm) and t.loss is ResidualTerm.loss and t.residual is ResidualTerm.residual
    )


def _row_residuals(
    term: ResidualTerm, ev: Evaluation, k: int, batched: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-``xi`` residuals ``(k, N)`` and point weights (``(k, N)`` or None).

    ``batched``: the point set was repeated ``k`` times (parametric model): rows are blocks.
    Otherwise ``xi`` columns are ``(k, 1)`` and the residual broadcasts to ``(k, N)``, or
    stays ``(N,)`` when it does not read ``xi``.
    """
    r = term.residual(ev)
    w = ev.env(term.point_set).data[term.point_weights] if term.point_weights is not None else None
    if batched:
        r = r.reshape(k, -1)
        w = w.reshape(k, -1) if w is not None else None
    else:
        if r.dim() == 1:
            r = r.unsqueeze(0)
        r = r.expand(k, r.shape[-1])
    return r, w


def _row_losses(term: ResidualTerm, ev: Evaluation, k: int, batched: bool) -> torch.Tensor:
    """Per-``xi`` mean squared residual, ``(k,)``, as :meth:`ResidualTerm.loss` computes it."""
    r, w = _row_residuals(term, ev, k, batched)
    if w is None:
        return (r * r).mean(-1)
    return (w * r * r).sum(-1) / w.sum(-1)


class GroupEvaluator:
    """Evaluates the weighted sum of a group of terms at rows of ``xi``.

    Args:
        terms: the group's terms (their weights apply inside the group).
        names: names of the uncertain coefficients, the columns of ``xi``.
        parametric: whether the model takes ``xi`` as input.
    """

    def __init__(
        self,
        terms: Sequence[Term],
        names: Sequence[str],
        *,
        parametric: bool = False,
    ) -> None:
        self.terms = tuple(terms)
        self.names = tuple(names)
        self.parametric = parametric
        self.plans = derivative_plans(self.terms)
        self.weights = [float(t.weight) for t in self.terms]

    @property
    def point_sets(self) -> tuple[str, ...]:
        """The point sets the group reads."""
        return tuple(self.plans)

    def bind(self, ev: Evaluation) -> BoundGroup:
        """Attach to one outer evaluation (its model, points and, where possible, its fields)."""
        if self.parametric and not isinstance(getattr(ev.model, "net", None), ParametricNet):
            raise ConfigError(
                "this robust group expects a parametric model (po.robust.Parametric) taking the uncertain "
                f"coefficients {list(self.names)} as inputs, got {type(ev.model).__name__}"
            )
        return BoundGroup(self, ev)

    def residuals_at(
        self,
        model: nn.Module,
        engine: Any,
        unknowns: Sequence[str],
        scalars: Mapping[str, Any],
        name: str,
        x: torch.Tensor,
        data: Mapping[str, torch.Tensor],
        xi: torch.Tensor,
    ) -> list[torch.Tensor]:
        """The residuals of the group's terms on point set ``name`` at the points ``x`` for one
        value ``xi`` (``(n,)``), from a fresh evaluation with ``engine``: a pure function of the
        model's parameters, for ``torch.func`` transforms (per-point Jacobians). A parametric
        model sees ``xi`` as input; the equations see it as scalars in either case."""
        net = _WithXi(model, xi[None]) if self.parametric else model
        over = {n: xi[i] for i, n in enumerate(self.names)}
        ev = Evaluation(
            net,
            {name: PointSet(name, x, dict(data))},
            {name: self.plans[name]},
            engine,
            unknowns,
            scalars={**scalars, **over},
            create_graph=True,
        )
        return [t.residual(ev) for t in self.terms if t.point_set == name]  # type: ignore[attr-defined]


class BoundGroup:
    """A :class:`GroupEvaluator` attached to one outer evaluation."""

    def __init__(self, group: GroupEvaluator, ev: Evaluation) -> None:
        self.group = group
        self.ev = ev
        self._fields: _GroupFields | None = None

    def _shared(self) -> _GroupFields:
        if self._fields is None:
            self._fields = _GroupFields(self.ev, self.group.plans)
        return self._fields

    def values(self, xi: torch.Tensor, mode: str = "loss") -> torch.Tensor:
        """Group losses at the rows of ``xi``, ``(K,)``.

        ``mode``: ``"loss"`` (with the graph to the trainable parameters), ``"search"``
        (no graph needed; detached) or ``"search_grad"`` (differentiable in ``xi`` only).
        """
        g = self.group
        n_rows = sum(len(self.ev.points[p]) for p in g.point_sets) or 1
        chunk = max(1, MAX_ROWS // n_rows)
        parts = [self._values(xi[i : i + chunk], mode) for i in range(0, xi.shape[0], chunk)]
        out = parts[0] if len(parts) == 1 else torch.cat(parts)
        return out.detach() if mode == "search" else out

    def _views(self, xi: torch.Tensor, mode: str) -> tuple[Evaluation, Any]:
        """The evaluation at all rows of ``xi`` at once, and ``j -> `` the one at row ``j``."""
        g = self.group
        if g.parametric:
            graph = self.ev.create_graph if mode == "loss" else mode == "search_grad"
            batched = _Batched(self.ev, g.plans, xi, g.names, create_graph=graph)
            if mode == "search":
                batched.scalars = {n: v.detach() for n, v in batched.scalars.items()}

            def single(j: int) -> Evaluation:
                return _Batched(self.ev, g.plans, xi[j : j + 1], g.names, create_graph=graph)

            return batched, single
        cols = {n: xi[:, j : j + 1] for j, n in enumerate(g.names)}

        def one(j: int) -> Evaluation:
            return ScalarView(
                self._shared(), {n: xi[j, i] for i, n in enumerate(g.names)}, detach=mode != "loss"
            )

        return ScalarView(self._shared(), cols, detach=mode != "loss"), one

    def _values(self, xi: torch.Tensor, mode: str) -> torch.Tensor:
        g = self.group
        k = xi.shape[0]
        vec, single = self._views(xi, mode)
        total: torch.Tensor | None = None
        for w, term in zip(g.weights, g.terms, strict=True):
            if _vectorizable(term):
                losses = _row_losses(term, vec, k, g.parametric)  # type: ignore[arg-type]
            else:
                losses = torch.stack([term.loss(single(j)) for j in range(k)])
            total = w * losses if total is None else total + w * losses
        assert total is not None
        return total

    def residuals(self, xi: torch.Tensor) -> list[torch.Tensor]:
        """Each term's pointwise residuals at the rows of ``xi``, ``(K, N_t)`` (terms must be
        :class:`~pinnopt.losses.ResidualTerm`), with the graph to the trainable parameters."""
        k = xi.shape[0]
        vec, single = self._views(xi, "loss")
        out = []
        for term in self.group.terms:
            assert isinstance(term, ResidualTerm)
            if _vectorizable(term):
                out.append(_row_residuals(term, vec, k, self.group.parametric)[0])
            else:
                out.append(torch.stack([term.residual(single(j)) for j in range(k)]))
        return out
