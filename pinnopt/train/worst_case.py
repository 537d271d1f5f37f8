"""Robust (worst-case) terms as rows of the least-squares residual vector.

A :class:`~pinnopt.robust.RobustTerm` is ``A_{xi in candidates} L(theta, xi)`` with the group
loss ``L(theta, xi) = sum_i w_i L_i(theta, xi)``. When every ``L_i`` is a mean of squared
residuals and the aggregate ``A`` is, at the candidates of the current evaluation, a convex
combination ``sum_j c_j L(theta, xi_j)`` (:meth:`~pinnopt.robust.Aggregate.select`: the
maximizer with ``c = 1`` for :class:`~pinnopt.robust.Max`, all candidates with ``c = 1/K``
for :class:`~pinnopt.robust.Mean`, the worst ``k`` for :class:`~pinnopt.robust.CVaR`), the
term is a sum of squares: its rows are

    ``sqrt(W c_j w_i) * r_i(x_n; xi_j) * point_scale_i(n)``

(``W`` the term's weight in the objective), in the order term ``i``, candidate ``j``, point
``n``; their squares sum to the term's loss. The selection ``(xi_j, c_j)`` comes from the
term's own last evaluation (the same inner search as the first-order path) and is held
fixed while differentiating (Danskin's envelope); each new evaluation of the residual
vector (every trial step of Levenberg-Marquardt) runs the search again, so the loss the
phase compares is the true worst case at the trial parameters.

A soft aggregate (:class:`~pinnopt.robust.LogSumExp`) or a member that is not a mean of
squared residuals (barriers, energies, custom terms) is refused with a
:class:`~pinnopt.errors.ConfigError` naming the term.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from ..errors import ConfigError
from ..losses import Evaluation, Objective, PointSet, ResidualTerm
from ..robust import PGA, GridSearch, Max, RobustTerm, Sampling, Vertices
from .functional import FunctionalCall

Selection = tuple[torch.Tensor, torch.Tensor]
"""``(xi, c)``: the selected rows of the uncertain coefficients ``(K, n)`` and their weights ``(K,)``."""


def _why_not(term: RobustTerm) -> str | None:
    agg = term.aggregate
    if not agg.least_squares:
        return (
            f"its aggregate {type(agg).__name__} is not a convex combination of the losses at "
            "fixed candidates (a soft maximum is T log mean exp(L/T), not a sum of squares); "
            "use po.robust.Max(), Mean() or CVaR()"
        )
    for t in term.terms:
        if not (isinstance(t, ResidualTerm) and type(t).loss is ResidualTerm.loss):
            return f"its member {t.name!r} ({type(t).__name__}) is not a mean of squared residuals"
    return None


class WorstCaseRows:
    """The rows of one robust term in the residual vector (see the module docstring).

    Args:
        term: the robust term.
        model: the model (a parametric one takes ``xi`` as input).
        engine: the derivative engine of the functional (per-point) evaluations.
        objective: the objective holding the term (unknowns, shared scalars).
        owner: the phase's name, for error messages.
    """

    def __init__(
        self, term: RobustTerm, model: nn.Module, engine: Any, objective: Objective, owner: str
    ) -> None:
        why = _why_not(term)
        if why is not None:
            raise ConfigError(
                f"{owner}: robust term {term.name!r} is not a sum of squared residuals at its "
                f"maximizer: {why}; or train it with po.optim.SSBFGS, L-BFGS or Adam"
            )
        self.term = term
        self.group = term.evaluator
        self.model, self.engine, self.objective, self.owner = model, engine, objective, owner
        self.call = FunctionalCall(model, self.unit)
        self.terms: tuple[ResidualTerm, ...] = tuple(term.terms)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return self.term.name

    def candidates(self) -> int:
        """An estimate of how many candidates enter the rows (for the memory estimate)."""
        t = self.term
        if isinstance(t.aggregate, Max):
            return 1
        m, space = t.method, t.space
        if isinstance(m, Vertices):
            k = space.n_vertices() or 64
        elif isinstance(m, (GridSearch, Sampling)):
            k = m.n + 1
        elif isinstance(m, PGA):
            nv = space.n_vertices()
            k = m.restarts + (nv if m.vertices and nv is not None and nv <= 64 else 0)
        else:
            k = 64
        alpha = getattr(t.aggregate, "alpha", 1.0)
        return max(1, math.ceil(alpha * k))

    def rows(self, points: Mapping[str, PointSet]) -> int:
        """An estimate of the number of rows."""
        return self.candidates() * sum(len(points[t.point_set]) for t in self.terms)

    def selection(self) -> Selection:
        """The candidates and weights of the term's last evaluation."""
        sel = self.term.selection()
        if sel is None:  # pragma: no cover - the objective evaluates the term first
            raise RuntimeError(f"{self.owner}: robust term {self.name!r} has not been evaluated")
        return sel

    def scales(
        self, points: Mapping[str, PointSet], weight: torch.Tensor, coef: torch.Tensor
    ) -> list[torch.Tensor]:
        """Per member, the row factors ``sqrt(W c_j w_i) * point_scale_i(n)``, shape ``(K, N_i)``."""
        out = []
        for t, w in zip(self.terms, self.group.weights, strict=True):
            ps = points[t.point_set]
            s = t.point_scale(ps.data, len(ps), ps.x)
            s = s.expand(len(ps)) if s.dim() == 0 else s
            c = (weight * w * coef).sqrt().to(s.dtype)
            out.append(c[:, None] * s[None, :])
        return out

    def values(
        self, ev: Evaluation, points: Mapping[str, PointSet], weight: torch.Tensor, at: Selection
    ) -> torch.Tensor:
        """The rows at the selection ``at``, from the objective's own evaluation ``ev``."""
        xi, coef = at
        res = self.group.bind(ev).residuals(xi)
        scales = self.scales(points, weight, coef)
        return torch.cat([(r * s).reshape(-1) for r, s in zip(res, scales, strict=True)])

    # -- the functional path (Jacobian, Jacobian-vector products) ----------------------------------
    def expanded(self, points: Mapping[str, PointSet], xi: torch.Tensor) -> dict[str, tuple[Any, ...]]:
        """Per point set, ``(x, data, xi)`` with one row per (candidate, point), candidate-major."""
        k = xi.shape[0]
        out = {}
        for name in self.group.point_sets:
            ps = points[name]
            n = len(ps)
            data = {key: v.repeat(k, *([1] * (v.dim() - 1))) for key, v in ps.data.items()}
            out[name] = (ps.x.repeat(k, 1), data, xi.repeat_interleave(n, 0))
        return out

    def unit(
        self, name: str, x: torch.Tensor, data: Mapping[str, torch.Tensor], xi: torch.Tensor
    ) -> list[torch.Tensor]:
        """The unscaled residuals of the members on set ``name`` at points ``x`` for one ``xi``."""
        obj = self.objective
        return self.group.residuals_at(self.model, self.engine, obj.unknowns, obj.scalars, name, x, data, xi)

    def _one(self, name: str) -> Callable[..., list[torch.Tensor]]:
        """``(params, x, data, xi) -> residuals`` at one point (for ``vmap``)."""

        def one(
            p: dict[str, torch.Tensor], x: torch.Tensor, data: dict[str, torch.Tensor], z: torch.Tensor
        ) -> list[torch.Tensor]:
            rows = functional_call(self.call, p, (name, x[None], {k: v[None] for k, v in data.items()}, z))
            return [r[0] for r in rows]

        return one

    def vector(
        self,
        params: dict[str, torch.Tensor],
        points: Mapping[str, PointSet],
        weight: torch.Tensor,
        at: Selection,
    ) -> torch.Tensor:
        """The rows as a function of ``params`` (model parameter name -> tensor, prefixed ``model.``)."""
        xi, coef = at
        blocks: dict[int, torch.Tensor] = {}
        for name, (x, data, z) in self.expanded(points, xi).items():
            rows = vmap(self._one(name), in_dims=(None, 0, 0, 0))(params, x, data, z)
            blocks.update(zip(self.members(name), rows, strict=True))
        scales = self.scales(points, weight, coef)
        return torch.cat([blocks[i] * s.reshape(-1) for i, s in enumerate(scales)])

    def jacobian(
        self,
        params: dict[str, torch.Tensor],
        points: Mapping[str, PointSet],
        weight: torch.Tensor,
        at: Selection,
        chunk: int,
        flatten: Callable[[Mapping[str, torch.Tensor], int], torch.Tensor],
    ) -> torch.Tensor:
        """``d rows / d params`` with the selection ``at`` held fixed, from per-point gradients;
        ``flatten(grads, n)`` turns the gradients of ``n`` rows into an ``(n, n_params)`` block."""
        xi, coef = at
        blocks: dict[int, torch.Tensor] = {}
        for name, (x, data, z) in self.expanded(points, xi).items():
            one = self._one(name)
            per_point = vmap(jacrev(one), in_dims=(None, 0, 0, 0), chunk_size=chunk)(params, x, data, z)
            for i, grads in zip(self.members(name), per_point, strict=True):
                blocks[i] = flatten(grads, x.shape[0])
        scales = self.scales(points, weight, coef)
        return torch.cat([blocks[i] * s.reshape(-1)[:, None] for i, s in enumerate(scales)])

    def members(self, name: str) -> list[int]:
        """Indices of the members on point set ``name``."""
        return [i for i, t in enumerate(self.terms) if t.point_set == name]
