"""The weighted residual vector of a least-squares objective and its Jacobian.

Second-order phases (:mod:`pinnopt.train.levenberg`) minimize ``F = ||R||^2`` where ``R``
stacks, term by term, ``sqrt(w_t) * s_t``: ``w_t`` the term's weight and ``s_t`` its scaled
residual (:meth:`~pinnopt.losses.ResidualTerm.scaled_residual`, whose squares sum to the
term's loss), so ``F`` is the objective ``sum_t w_t L_t``.

The Jacobian ``J = dR/dtheta`` is built row by row from per-point parameter gradients: a
pointwise residual depends only on its own point, so ``torch.func.vmap`` over the points of
``torch.func.jacrev`` of the one-point residual gives every row at the cost of one batched
backward pass (the Jacobian of the whole vector by ``jacrev`` would run one backward pass
per row through every point). Inside the transforms the derivatives of the model with
respect to its inputs come from :class:`FuncEngine` (nested ``torch.func.jacfwd``), which
composes with ``vmap``/``jacrev``/``jvp`` where the autograd and fused Taylor engines do
not. The same functional residual gives the Jacobian-vector products of the matrix-free
solver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, jacfwd, jacrev, jvp, vjp, vmap

from ..errors import ConfigError
from ..losses import Evaluation, Objective, PointSet, ResidualTerm
from ..losses.constraint_terms import EqualityTerm
from ..losses.evaluation import statistics_set
from ..nn.norm import BatchNorm, shared_batch_statistics
from ..robust import AtValues, RobustTerm
from ..symbolic import DerivativeEngine, DerivativePlan, Field
from .functional import FunctionalCall
from .worst_case import Selection, WorstCaseRows


class FuncEngine(DerivativeEngine):
    """Input derivatives by nested ``torch.func.jacfwd`` of the one-point model, ``vmap``-ed.

    Composes with ``torch.func`` transforms over the parameters (per-point Jacobians, JVPs);
    it treats the model as pointwise (each output row depends on its input row only).
    """

    name = "func"

    def evaluate(
        self,
        model: nn.Module,
        points: torch.Tensor,
        plan: DerivativePlan,
        unknowns: Sequence[str],
        *,
        create_graph: bool = True,
    ) -> dict[Field, torch.Tensor]:
        column = {name: i for i, name in enumerate(unknowns)}
        wanted = set(plan.wanted) | set(plan.values)

        def one(x: torch.Tensor) -> torch.Tensor:
            return model(x[None])[0]

        by_order: dict[int, torch.Tensor] = {}
        for order in sorted({f.order for f in wanted}):
            fn: Callable[[torch.Tensor], torch.Tensor] = one
            for _ in range(order):
                fn = jacfwd(fn)
            by_order[order] = vmap(fn)(points)  # (N, n_out, dim, ..., dim)
        out: dict[Field, torch.Tensor] = {}
        for f in wanted:
            axes = [a for a, k in enumerate(f.orders) for _ in range(k)]
            out[f] = by_order[f.order][(slice(None), column[f.unknown], *axes)]
        return out


def _supported(term: Any) -> bool:
    if isinstance(term, AtValues):
        return isinstance(term.term, ResidualTerm) and _supported(term.term)
    if isinstance(term, ResidualTerm):
        return type(term).loss is ResidualTerm.loss
    return isinstance(term, EqualityTerm) and term.method == "penalty"


def _base(term: Any) -> ResidualTerm:
    """The residual term itself, or the one a nominal-value wrapper holds."""
    return term.term if isinstance(term, AtValues) else term


def _residual(term: Any, ev: Evaluation) -> torch.Tensor:
    if isinstance(term, AtValues):
        return term.term.residual(term.view(ev))
    return term.residual(ev)


class LeastSquares:
    """The residual vector ``R`` of ``objective`` for ``model`` and its Jacobian in ``params``.

    Robust terms enter at their current maximizer (or the candidates of a mean / CVaR;
    :mod:`pinnopt.train.worst_case`): the selection of the last :meth:`evaluate` (``at``),
    held fixed in :meth:`vector`, :meth:`jacobian` and :meth:`operators`.

    Batch norm (:class:`~pinnopt.nn.norm.BatchNorm` in training mode): every residual depends
    on the weights directly and through the statistics ``S`` of the interior batch, which
    every point set shares (as in the objective). The rows are the per-point gradients with
    ``S`` held as an input, ``dr/dtheta + dr/dS dS/dtheta``, with ``dS/dtheta`` (a few
    hundred rows) from one ``jacrev`` of the statistics; :meth:`vector` recomputes ``S``
    from the parameters, so the matrix-free products see the same coupling.

    Raises :class:`~pinnopt.errors.ConfigError` naming the first term that is not a sum of
    squares (energies, barriers, regularizers, soft worst cases, augmented-Lagrangian terms,
    causal or self-adaptive weighting), for ``torch.nn`` batch-norm layers, and for robust
    terms together with batch norm.
    """

    def __init__(
        self, objective: Objective, model: nn.Module, params: Sequence[torch.Tensor], owner: str
    ) -> None:
        self.engine = FuncEngine()
        self.robust: dict[str, WorstCaseRows] = {}
        for t in objective.terms:
            if isinstance(t, RobustTerm):
                self.robust[t.name] = WorstCaseRows(t, model, self.engine, objective, owner)
            elif not _supported(t):
                raise ConfigError(
                    f"{owner}: loss term {t.name!r} ({type(t).__name__}) is not a sum of squared "
                    "residuals, so it has no Jacobian for the Gauss-Newton model; train it with "
                    "po.optim.SSBFGS, L-BFGS or Adam, or drop the term"
                )
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            raise ConfigError(
                f"{owner}: the model has torch.nn batch-norm layers, whose statistics couple the points "
                "in a way the per-point Jacobian cannot follow; use pinnopt's norm='batch' "
                "(pinnopt.nn.BatchNorm), another norm, or a first-order optimizer"
            )
        self.norms = [m for m in model.modules() if isinstance(m, BatchNorm) and m.training]
        if self.norms and self.robust:
            raise ConfigError(
                f"{owner}: robust terms {sorted(self.robust)} with a batch-norm model are not supported "
                "by the Gauss-Newton model; use norm='layer' or 'group', or po.optim.LBFGS / Adam"
            )
        self.objective, self.model, self.owner = objective, model, owner
        ids = {id(p): n for n, p in model.named_parameters()}
        missing = [i for i, p in enumerate(params) if id(p) not in ids]
        if missing:
            raise ConfigError(f"{owner}: trained tensors {missing} are not parameters of the model")
        self.names = [ids[id(p)] for p in params]
        self.params = list(params)
        self.sizes = [p.numel() for p in params]
        self.call = FunctionalCall(model, self._unit)
        self.at: dict[str, Selection] = {}
        """The robust terms' selections at the last :meth:`evaluate`."""

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def rows(self, points: Mapping[str, PointSet]) -> int:
        """The length of ``R`` (estimated for robust terms that aggregate several candidates)."""
        return sum(
            self.robust[t.name].rows(points)
            if t.name in self.robust
            else len(points[t.point_set])
            if t.point_set is not None
            else 1
            for t in self.objective.terms
        )

    # -- values (the objective's own engine) --------------------------------------------------------
    def values(self, points: Mapping[str, PointSet]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(R, per-term losses)`` at the current parameters, without a graph (see :meth:`evaluate`)."""
        r, losses, _ = self.evaluate(points)
        return r, losses

    def evaluate(
        self, points: Mapping[str, PointSet]
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, Selection]]:
        """``(R, per-term losses, at)``: one evaluation of the objective (robust terms run their
        inner search, as in the first-order path) and the robust terms' selections, also kept
        in :attr:`at`. ``||R||^2`` is the weighted objective ``sum_t w_t L_t``."""
        obj = self.objective
        with torch.enable_grad():
            ev = obj.evaluation(self.model, points, create_graph=False)
            losses = obj.losses(ev).detach()
            at = {name: rows.selection() for name, rows in self.robust.items()}
            parts = []
            for t, wt in zip(obj.terms, obj.weights, strict=True):
                if t.name in self.robust:
                    parts.append(self.robust[t.name].values(ev, points, wt, at[t.name]).detach())
                else:
                    parts.append(wt.sqrt() * self._scaled(t, ev).detach().reshape(-1))
        self.at = at
        return torch.cat(parts), losses, at

    def _scaled(self, t: Any, ev: Evaluation) -> torch.Tensor:
        if isinstance(t, AtValues):
            return t.term.scaled_residual(t.view(ev))
        if isinstance(t, ResidualTerm):
            return t.scaled_residual(ev)
        return (0.5 * t.rho).sqrt() * t.value(ev.scalars).reshape(1)

    # -- the functional residual -------------------------------------------------------------------
    def _unit(
        self, name: str, x: torch.Tensor, data: dict[str, torch.Tensor], stats: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The unscaled residuals of the terms on set ``name`` at the points ``x`` (batch norm:
        normalized with the flat statistics ``stats``, see :meth:`_statistics`)."""
        obj = self.objective
        terms = [t for t in obj.terms if t.point_set == name and t.name not in self.robust]
        plan = obj.plans[name]
        ev = Evaluation(
            self.model,
            {name: PointSet(name, x, data)},
            {name: plan},
            self.engine,
            obj.unknowns,
            scalars=obj.scalars or None,
            create_graph=True,
            statistics=None if stats is None else self._installed(stats),
        )
        return [_residual(t, ev) for t in terms]

    # -- batch norm --------------------------------------------------------------------------------
    def _statistics(self, params: dict[str, torch.Tensor], points: Mapping[str, PointSet]) -> torch.Tensor:
        """The batch-norm statistics of the reference (interior) set at ``params``, flat:
        ``mean, var`` of each layer in turn (running estimates untouched)."""
        x = points[statistics_set(points)].x  # type: ignore[index]

        def stats(x: torch.Tensor) -> torch.Tensor:
            return torch.cat([torch.cat(s) for _, s in shared_batch_statistics(self.model, x, update=False)])

        return functional_call(FunctionalCall(self.model, stats), params, (x,))

    def _installed(self, flat: torch.Tensor) -> list[tuple[BatchNorm, tuple[torch.Tensor, torch.Tensor]]]:
        out, k = [], 0
        for layer in self.norms:
            w = layer.features
            out.append((layer, (flat[k : k + w], flat[k + w : k + 2 * w])))
            k += 2 * w
        return out

    def _globals(self) -> list[torch.Tensor]:
        ev = Evaluation(
            self.model, {}, {}, self.engine, self.objective.unknowns, scalars=self.objective.scalars or None
        )
        return [
            self._scaled(t, ev)
            for t in self.objective.terms
            if t.point_set is None and t.name not in self.robust
        ]

    def _param_dict(self, flat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if flat is None:
            return {"model." + n: p.detach() for n, p in zip(self.names, self.params, strict=True)}
        parts = torch.split(flat, self.sizes)
        return {"model." + n: v.view_as(p) for n, v, p in zip(self.names, parts, self.params, strict=True)}

    def _scales(self, points: Mapping[str, PointSet]) -> dict[str, torch.Tensor]:
        w = self.objective.weights.sqrt()
        out = {}
        for wi, t in zip(w, self.objective.terms, strict=True):
            if t.point_set is not None:
                ps = points[t.point_set]
                out[t.name] = wi * _base(t).point_scale(ps.data, len(ps), ps.x)
        return out

    def _selection(self, at: Mapping[str, Selection] | None) -> Mapping[str, Selection]:
        at = self.at if at is None else at
        missing = [n for n in self.robust if n not in at]
        if missing:
            raise RuntimeError(f"{self.owner}: no selection of robust terms {missing}; call evaluate() first")
        return at

    def _robust_weight(self, name: str) -> torch.Tensor:
        return self.objective.weights[self.objective.names.index(name)]

    def vector(
        self, flat: torch.Tensor, points: Mapping[str, PointSet], at: Mapping[str, Selection] | None = None
    ) -> torch.Tensor:
        """``R`` as a function of the flat parameters (for ``jvp``/``vjp``), the robust terms at
        the selection ``at`` (default: that of the last :meth:`evaluate`)."""
        at = self._selection(at)
        params = self._param_dict(flat)
        scales = self._scales(points)
        got: dict[str, torch.Tensor] = {}
        for tname, wc in self.robust.items():
            got[tname] = wc.vector(params, points, self._robust_weight(tname), at[tname])
        extra = (self._statistics(params, points),) if self.norms else ()  # once: every set shares them
        for name in self.objective.point_set_names:
            ps = points[name]
            terms = [t for t in self.objective.terms if t.point_set == name and t.name not in self.robust]
            if not terms:
                continue
            rows = functional_call(self.call, params, (name, ps.x, ps.data, *extra))
            for t, r in zip(terms, rows, strict=True):
                got[t.name] = r * scales[t.name]
        glob = functional_call(FunctionalCall(self.model, self._globals), params, ())
        glob_terms = [t for t in self.objective.terms if t.point_set is None and t.name not in self.robust]
        w = dict(zip(self.objective.names, self.objective.weights.sqrt(), strict=True))
        for t, g in zip(glob_terms, glob, strict=True):
            got[t.name] = w[t.name] * g
        return torch.cat([got[t.name].reshape(-1) for t in self.objective.terms])

    # -- the Jacobian ------------------------------------------------------------------------------
    def jacobian(
        self, points: Mapping[str, PointSet], chunk: int = 2048, at: Mapping[str, Selection] | None = None
    ) -> torch.Tensor:
        """``dR/dtheta``, shape ``(rows, n_params)``, from batched per-point gradients; robust
        terms at the selection ``at`` (default: that of the last :meth:`evaluate`), held fixed."""
        at = self._selection(at)
        params = self._param_dict()
        scales = self._scales(points)
        blocks: dict[str, torch.Tensor] = {}
        for tname, wc in self.robust.items():
            weight = self._robust_weight(tname)
            blocks[tname] = wc.jacobian(params, points, weight, at[tname], chunk, self._flatten)
        stats = d_stats = None
        if self.norms:  # rows = dr/dtheta + dr/dS dS/dtheta (see the class docstring)

            def with_value(p: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
                s = self._statistics(p, points)
                return s, s

            d_raw, stats = jacrev(with_value, has_aux=True)(params)  # one pass gives S and dS/dtheta
            stats = stats.detach()
            d_stats = self._flatten(d_raw, len(stats))
        for name in self.objective.point_set_names:
            ps = points[name]
            terms = [t for t in self.objective.terms if t.point_set == name and t.name not in self.robust]
            if not terms:
                continue

            def one(
                p: dict[str, torch.Tensor],
                x: torch.Tensor,
                data: dict[str, torch.Tensor],
                s: torch.Tensor | None,
                name: str = name,
            ) -> list[torch.Tensor]:
                one_data = {k: v[None] for k, v in data.items()}
                rows = functional_call(self.call, p, (name, x[None], one_data, *(() if s is None else (s,))))
                return [r[0] for r in rows]

            argnums = 0 if stats is None else (0, 3)
            per_point = vmap(jacrev(one, argnums=argnums), in_dims=(None, 0, 0, None), chunk_size=chunk)(
                params, ps.x, ps.data, stats
            )
            for t, grads in zip(terms, per_point, strict=True):
                if stats is None:
                    rows = self._flatten(grads, len(ps))
                else:
                    rows = self._flatten(grads[0], len(ps)) + grads[1].reshape(len(ps), -1) @ d_stats
                s = scales[t.name]
                blocks[t.name] = rows * (s[:, None] if s.dim() else s)
        glob_terms = [t for t in self.objective.terms if t.point_set is None and t.name not in self.robust]
        if glob_terms:
            call = FunctionalCall(self.model, self._globals)
            grads = jacrev(lambda p: functional_call(call, p, ()))(params)
            w = dict(zip(self.objective.names, self.objective.weights.sqrt(), strict=True))
            for i, t in enumerate(glob_terms):
                blocks[t.name] = w[t.name] * self._flatten(grads[i], 1)
        return torch.cat([blocks[t.name] for t in self.objective.terms])

    def _flatten(self, grads: Mapping[str, torch.Tensor], n: int) -> torch.Tensor:
        cols = []
        for pname, p in zip(self.names, self.params, strict=True):
            g = grads["model." + pname]
            cols.append(
                g.reshape(n, -1)
                if g is not None
                else torch.zeros(n, p.numel(), dtype=p.dtype, device=p.device)
            )
        return torch.cat(cols, dim=1)

    # -- matrix-free products ----------------------------------------------------------------------
    def flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    def operators(
        self, points: Mapping[str, PointSet], at: Mapping[str, Selection] | None = None
    ) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
        """``(v -> J v, u -> J^T u)`` at the current parameters (robust terms at ``at``)."""
        theta = self.flat()
        at = dict(self._selection(at))

        def fn(f: torch.Tensor) -> torch.Tensor:
            return self.vector(f, points, at)

        _, pullback = vjp(fn, theta)

        def jv(v: torch.Tensor) -> torch.Tensor:
            return jvp(fn, (theta,), (v,))[1].detach()

        def jtu(u: torch.Tensor) -> torch.Tensor:
            return pullback(u)[0].detach()

        return jv, jtu
