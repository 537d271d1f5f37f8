"""Bagging: K sub-models trained on K random subsets of the collocation points.

The members differ in their initialization (seed) and their points; the mean of their
predictions is the bagged solution and the spread (standard deviation across members) is
an uncertainty estimate: large where the members disagree, i.e. where the points and the
physics pin the solution down least.

    bag = po.workflows.bagging(problem, k=5, subset=0.8, phases=[po.optim.Adam(steps=2000)])
    mean, spread = bag.predict_with_spread(points)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..compile.stage import compile_problem
from ..errors import ConfigError, ValidationError
from ..losses import PointSet
from ..metrics import Validation, max_abs_error, relative_l2
from ..solve import solve

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem
    from ..metrics import Validation
    from ..result import Result

log = logging.getLogger("pinnopt.train")


class Bagging:
    """The members of a bagged solve and their combined prediction.

    Attributes:
        members: one :class:`~pinnopt.Result` per sub-model.
        subsets: per member, the number of points drawn from each point set.
    """

    def __init__(
        self, problem: Problem, members: Sequence[Result], subsets: Sequence[dict[str, int]]
    ) -> None:
        if len(members) < 2:
            raise ConfigError(f"bagging needs at least 2 members, got {len(members)}")
        self.problem = problem
        self.members = list(members)
        self.subsets = list(subsets)

    @property
    def k(self) -> int:
        """The number of members."""
        return len(self.members)

    def predict_members(self, points: Any) -> dict[str, np.ndarray]:
        """Every member's prediction: ``{unknown: (k, N) array}``."""
        preds = [m.predict(points) for m in self.members]
        return {u: np.stack([p[u] for p in preds]) for u in self.members[0].unknowns}

    def predict(self, points: Any) -> dict[str, np.ndarray]:
        """The bagged solution: the members' mean, ``{unknown: (N,) array}``."""
        return {u: v.mean(axis=0) for u, v in self.predict_members(points).items()}

    def predict_with_spread(self, points: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``(mean, spread)``: the members' mean and standard deviation (ddof=1) per unknown."""
        stacked = self.predict_members(points)
        mean = {u: v.mean(axis=0) for u, v in stacked.items()}
        spread = {u: v.std(axis=0, ddof=1) for u, v in stacked.items()}
        return mean, spread

    def validate(self, points: Any = None) -> Validation:
        """Relative L2 and max abs error of the bagged mean against the exact solution."""
        exact = self.problem.exact_solution
        if exact is None:
            raise ValidationError(f"problem {self.problem.name!r} declares no exact solution")
        pts = self.problem.evaluation_points() if points is None else np.asarray(points, float)
        pred, ref = self.predict(pts), exact(pts)
        metrics = {
            u: {"rel_l2": relative_l2(pred[u], ref[u]), "max_abs": max_abs_error(pred[u], ref[u])}
            for u in pred
        }
        dtype = self.members[0].validate(pts).dtype
        return Validation(metrics, {}, n_points=len(pts), dtype=dtype, reference=exact.kind)

    def uncertainty(self, points: Any = None) -> dict[str, dict[str, float]]:
        """Per unknown: mean and max spread, and (with an exact solution) the fraction of
        points whose error is within two spreads (``coverage_2sd``)."""
        pts = self.problem.evaluation_points() if points is None else np.asarray(points, float)
        mean, spread = self.predict_with_spread(pts)
        exact = self.problem.exact_solution
        ref = exact(pts) if exact is not None else None
        out = {}
        for u in mean:
            entry = {"mean_spread": float(spread[u].mean()), "max_spread": float(spread[u].max())}
            if ref is not None:
                entry["coverage_2sd"] = float(np.mean(np.abs(mean[u] - ref[u]) <= 2 * spread[u]))
            out[u] = entry
        return out


def bagging(
    problem: Problem,
    k: int = 5,
    *,
    subset: float = 0.8,
    replace: bool = False,
    seed: int = 0,
    **solve_kwargs: Any,
) -> Bagging:
    """Train ``k`` sub-models on ``k`` random subsets of one pool of collocation points.

    Args:
        problem: the declared problem.
        k: number of members (>= 2).
        subset: fraction of every point set each member trains on.
        replace: draw with replacement (bootstrap) instead of without.
        seed: seeds the pool of points, the subsets and the members (member ``i`` uses
            ``seed + i`` for its initialization and batching).
        **solve_kwargs: passed to :func:`pinnopt.solve` (``model``, ``phases``, ``collocation``,
            ``dtype``...); given point sets and ``resume`` are not allowed.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError(f"bagging(k={k!r}): expected an int >= 2")
    ok = isinstance(subset, (int, float)) and not isinstance(subset, bool)
    if not (ok and 0.0 < subset <= 1.0):
        raise ConfigError(f"bagging(subset={subset!r}): expected a fraction in (0, 1]")
    for bad in ("resume", "seed"):
        if bad in solve_kwargs:
            raise ConfigError(f"bagging(): {bad}= cannot be given; the members draw their own")
    if isinstance(solve_kwargs.get("collocation"), Mapping):
        raise ConfigError(
            "bagging(): collocation= must be counts (po.Collocation); the members draw their own points"
        )
    if solve_kwargs.get("checkpoint") is not None:
        raise ConfigError("bagging(): checkpoint= is not supported (the members would share one folder)")
    with torch.random.fork_rng(devices=[]):
        pool = compile_problem(
            problem,
            collocation=solve_kwargs.get("collocation"),
            hard_constraints=solve_kwargs.get("hard_constraints", False),
            dtype=solve_kwargs.get("dtype", torch.float64),
            device="cpu",
            seed=seed,
        ).points
    members, sizes = [], []
    for i in range(k):
        gi = torch.Generator().manual_seed(seed * 7919 + 104729 + i)
        points: dict[str, PointSet] = {}
        for name, ps in pool.items():
            n = len(ps)
            m = max(1, round(subset * n))
            idx = torch.randint(n, (m,), generator=gi) if replace else torch.randperm(n, generator=gi)[:m]
            points[name] = ps.take(idx)
        sizes.append({name: len(ps) for name, ps in points.items()})
        log.info("bagging: member %d of %d", i + 1, k)
        members.append(solve(problem, **{**solve_kwargs, "collocation": points}, seed=seed + i))
    return Bagging(problem, members, sizes)
