"""One evaluation of the objective: model outputs and derivatives, computed once per set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..nn.norm import shared_batch_statistics, using_statistics
from ..symbolic import DerivativeEngine, DerivativePlan, Env
from .points import PointSet


class Evaluation:
    """Lazily evaluates the model on each point set, once, with every derivative needed there.

    Terms ask for :meth:`env` of their point set; the first request runs the derivative
    engine with the plan of all fields any term needs on that set, later requests reuse it.
    With ``grouped=True`` the first request evaluates every point set of ``plans`` in one
    :meth:`~pinnopt.symbolic.DerivativeEngine.evaluate_sets` call, so that the engine may
    merge them into fewer model calls (the objective does this: it reads every set anyway).
    ``scalars`` override the model's trainable scalars by name (robust wrappers set
    uncertain coefficients this way).

    Batch norm: a model with :class:`~pinnopt.nn.norm.BatchNorm` layers in training mode
    normalizes every point set with the statistics of one reference batch, the points of
    :func:`statistics_set` (the interior set) of ``reference`` (default ``points``),
    computed once per evaluation; see :func:`~pinnopt.nn.norm.shared_batch_statistics`.
    ``statistics`` (pairs ``(layer, (mean, var))``) gives them instead, e.g. as inputs of a
    ``torch.func`` transform.
    """

    def __init__(
        self,
        model: nn.Module,
        points: Mapping[str, PointSet],
        plans: Mapping[str, DerivativePlan],
        engine: DerivativeEngine,
        unknowns: Sequence[str],
        *,
        scalars: Mapping[str, torch.Tensor | float] | None = None,
        create_graph: bool = True,
        grouped: bool = False,
        reference: Mapping[str, PointSet] | None = None,
        statistics: Sequence[Any] | None = None,
    ) -> None:
        self.model = model
        self.points = points
        self.plans = plans
        self.engine = engine
        self.unknowns = tuple(unknowns)
        base = model.scalars() if hasattr(model, "scalars") else {}
        self.scalars: dict[str, torch.Tensor | float] = {**base, **(scalars or {})}
        self.create_graph = create_graph
        self.grouped = grouped
        self._envs: dict[str, Env] = {}
        self._reference = reference if reference is not None else points
        self._stats: list[Any] | None = None if statistics is None else list(statistics)

    def env(self, name: str) -> Env:
        """The :class:`Env` of point set ``name`` (evaluated on first use)."""
        env = self._envs.get(name)
        if env is None and self.grouped and name in self.plans:
            self._evaluate_all()
            return self._envs[name]
        if env is None:
            ps = self.points[name]
            with using_statistics(self._statistics()):
                fields = self.engine.evaluate(
                    self.model, ps.x, self.plans[name], self.unknowns, create_graph=self.create_graph
                )
            env = Env(ps.x.unbind(1), fields, self.scalars, ps.data)
            self._envs[name] = env
        return env

    def _evaluate_all(self) -> None:
        todo = {n: (self.points[n].x, plan) for n, plan in self.plans.items() if n not in self._envs}
        with using_statistics(self._statistics()):
            results = self.engine.evaluate_sets(
                self.model, todo, self.unknowns, create_graph=self.create_graph
            )
        for n in todo:
            ps = self.points[n]
            self._envs[n] = Env(ps.x.unbind(1), results[n], self.scalars, ps.data)

    def _statistics(self) -> list[Any]:
        """The shared batch-norm statistics of this evaluation (computed on first use)."""
        if self._stats is None:
            name = statistics_set(self._reference)
            self._stats = [] if name is None else shared_batch_statistics(self.model, self._reference[name].x)
        return self._stats


REFERENCE_SET = "interior"
"""The point set whose batch gives the batch-norm statistics of every set."""


def statistics_set(points: Mapping[str, PointSet]) -> str | None:
    """The point set that gives the batch-norm statistics: the interior set, else the largest."""
    if REFERENCE_SET in points:
        return REFERENCE_SET
    return max(points, key=lambda n: len(points[n]), default=None)
