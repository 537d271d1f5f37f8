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
from ..nn.norm import BatchNorm
from ..symbolic import DerivativeEngine, DerivativePlan, Field


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


class _Call(nn.Module):
    """Runs ``fn`` inside ``functional_call`` so that the model's parameters are swapped."""

    def __init__(self, model: nn.Module, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, *args: Any) -> Any:
        return self.fn(*args)


def _supported(term: Any) -> bool:
    if isinstance(term, ResidualTerm):
        return type(term).loss is ResidualTerm.loss
    return isinstance(term, EqualityTerm) and term.method == "penalty"


class LeastSquares:
    """The residual vector ``R`` of ``objective`` for ``model`` and its Jacobian in ``params``.

    Raises :class:`~pinnopt.errors.ConfigError` naming the first term that is not a sum of
    squares (energies, barriers, regularizers, worst-case and augmented-Lagrangian terms,
    causal or self-adaptive weighting), and for models with batch-coupled layers.
    """

    def __init__(
        self, objective: Objective, model: nn.Module, params: Sequence[torch.Tensor], owner: str
    ) -> None:
        for t in objective.terms:
            if not _supported(t):
                raise ConfigError(
                    f"{owner}: loss term {t.name!r} ({type(t).__name__}) is not a sum of squared "
                    "residuals, so it has no Jacobian for the Gauss-Newton model; train it with "
                    "po.optim.SSBFGS, L-BFGS or Adam, or drop the term"
                )
        if any(isinstance(m, (BatchNorm, nn.modules.batchnorm._BatchNorm)) for m in model.modules()):
            raise ConfigError(
                f"{owner}: the model has batch-norm layers (batch-coupled); per-point Jacobians do not apply"
            )
        self.objective, self.model, self.owner = objective, model, owner
        ids = {id(p): n for n, p in model.named_parameters()}
        missing = [i for i, p in enumerate(params) if id(p) not in ids]
        if missing:
            raise ConfigError(f"{owner}: trained tensors {missing} are not parameters of the model")
        self.names = [ids[id(p)] for p in params]
        self.params = list(params)
        self.sizes = [p.numel() for p in params]
        self.engine = FuncEngine()
        self.call = _Call(model, self._unit)

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def rows(self, points: Mapping[str, PointSet]) -> int:
        """The length of ``R``."""
        return sum(len(points[t.point_set]) if t.point_set is not None else 1 for t in self.objective.terms)

    # -- values (the objective's own engine) --------------------------------------------------------
    def values(self, points: Mapping[str, PointSet]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(R, per-term losses)`` at the current parameters, without a graph."""
        obj = self.objective
        with torch.enable_grad():
            ev = obj.evaluation(self.model, points, create_graph=False)
            losses = obj.losses(ev).detach()
            parts = [self._scaled(t, ev).detach() for t in obj.terms]
        w = obj.weights.sqrt()
        return torch.cat([wi * p.reshape(-1) for wi, p in zip(w, parts, strict=True)]), losses

    def _scaled(self, t: Any, ev: Evaluation) -> torch.Tensor:
        if isinstance(t, ResidualTerm):
            return t.scaled_residual(ev)
        return (0.5 * t.rho).sqrt() * t.value(ev.scalars).reshape(1)

    # -- the functional residual -------------------------------------------------------------------
    def _unit(self, name: str, x: torch.Tensor, data: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The unscaled residuals of the terms on set ``name`` at the points ``x``."""
        obj = self.objective
        terms = [t for t in obj.terms if t.point_set == name]
        plan = obj.plans[name]
        ev = Evaluation(
            self.model,
            {name: PointSet(name, x, data)},
            {name: plan},
            self.engine,
            obj.unknowns,
            scalars=obj.scalars or None,
            create_graph=True,
        )
        return [t.residual(ev) for t in terms]

    def _globals(self) -> list[torch.Tensor]:
        ev = Evaluation(
            self.model, {}, {}, self.engine, self.objective.unknowns, scalars=self.objective.scalars or None
        )
        return [self._scaled(t, ev) for t in self.objective.terms if t.point_set is None]

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
                out[t.name] = wi * t.point_scale(ps.data, len(ps), ps.x)
        return out

    def vector(self, flat: torch.Tensor, points: Mapping[str, PointSet]) -> torch.Tensor:
        """``R`` as a function of the flat parameters (for ``jvp``/``vjp``)."""
        params = self._param_dict(flat)
        scales = self._scales(points)
        got: dict[str, torch.Tensor] = {}
        for name in self.objective.point_set_names:
            ps = points[name]
            terms = [t for t in self.objective.terms if t.point_set == name]
            rows = functional_call(self.call, params, (name, ps.x, ps.data))
            for t, r in zip(terms, rows, strict=True):
                got[t.name] = r * scales[t.name]
        glob = functional_call(_Call(self.model, self._globals), params, ())
        glob_terms = [t for t in self.objective.terms if t.point_set is None]
        w = dict(zip(self.objective.names, self.objective.weights.sqrt(), strict=True))
        for t, g in zip(glob_terms, glob, strict=True):
            got[t.name] = w[t.name] * g
        return torch.cat([got[t.name].reshape(-1) for t in self.objective.terms])

    # -- the Jacobian ------------------------------------------------------------------------------
    def jacobian(self, points: Mapping[str, PointSet], chunk: int = 2048) -> torch.Tensor:
        """``dR/dtheta``, shape ``(rows, n_params)``, from batched per-point gradients."""
        params = self._param_dict()
        scales = self._scales(points)
        blocks: dict[str, torch.Tensor] = {}
        for name in self.objective.point_set_names:
            ps = points[name]
            terms = [t for t in self.objective.terms if t.point_set == name]

            def one(
                p: dict[str, torch.Tensor], x: torch.Tensor, data: dict[str, torch.Tensor], name: str = name
            ) -> list[torch.Tensor]:
                rows = functional_call(self.call, p, (name, x[None], {k: v[None] for k, v in data.items()}))
                return [r[0] for r in rows]

            per_point = vmap(jacrev(one), in_dims=(None, 0, 0), chunk_size=chunk)(params, ps.x, ps.data)
            for t, grads in zip(terms, per_point, strict=True):
                rows = self._flatten(grads, len(ps))
                s = scales[t.name]
                blocks[t.name] = rows * (s[:, None] if s.dim() else s)
        glob_terms = [t for t in self.objective.terms if t.point_set is None]
        if glob_terms:
            call = _Call(self.model, self._globals)
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
        self, points: Mapping[str, PointSet]
    ) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
        """``(v -> J v, u -> J^T u)`` at the current parameters."""
        theta = self.flat()

        def fn(f: torch.Tensor) -> torch.Tensor:
            return self.vector(f, points)

        _, pullback = vjp(fn, theta)

        def jv(v: torch.Tensor) -> torch.Tensor:
            return jvp(fn, (theta,), (v,))[1].detach()

        def jtu(u: torch.Tensor) -> torch.Tensor:
            return pullback(u)[0].detach()

        return jv, jtu
