"""Feasibility report: does every bound and equality hold after training, and which are active?

Field bounds are checked on a fine set of points of their region, not on the training
points: a regular grid of about ``n`` points for the interior (at least as fine as the
problem's evaluation grid), the given points of a ``po.Points`` region, and ``n`` seeded
random points (duplicates removed) on other regions such as boundary pieces.

A bound is *active* when its smallest slack is within ``active_tol`` of zero. For barrier
bounds the default is ``20 / m``: beyond that distance the exponential barrier's force
``m exp(-m g)`` is below ``m e^-20`` and no longer shapes the optimum, and an active
optimum sits about ``ln(m/|dJ|)/m`` inside the bound, which is below ``20 / m`` unless the
objective's slope is tiny. Exact methods use ``1e-9 (1 + |limit|)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..declare.bounds import EXACT_METHODS, Inequality
from ..declare.constraints import ConstraintSet
from ..domain import Domain, Interior, Region
from ..errors import ValidationError
from ..symbolic import AutogradEngine, CompiledExpression, DerivativePlan, Env
from ..symbolic.scalars import scalar_env

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Result


@dataclass(frozen=True)
class BoundFeasibility:
    """How one one-sided bound (or one equality) holds.

    Attributes:
        name: the constraint's term name.
        relation: the relation as written (``k >= 0.1``, ``a + b - 1 = 0``).
        kind: ``"parameter"``, ``"field"`` or ``"equality"``.
        method: how it was enforced (``barrier``, ``log``, ``reparam``, ``project``,
            ``augmented``, ``penalty``).
        region: the region of a field bound.
        n_points: points checked (1 for parameters and equalities).
        max_violation: largest violation ``max(0, -slack)`` (``|h|`` for an equality).
        share_violating: fraction of points violating by more than the report's ``tol``.
        min_slack: smallest slack (NaN for equalities).
        active: whether the bound is active at the optimum (``min_slack <= active_tol``).
        share_active: fraction of points within ``active_tol`` (the contact set of a field bound).
        active_tol: the tolerance used for ``active``.
        multiplier: the Lagrange multiplier estimate the barrier exerts at the optimum
            (parameter barriers: ``weight * m * exp(-m * slack)``; equalities: ``lam``
            is not known after training, so None).
    """

    name: str
    relation: str
    kind: str
    method: str
    region: str | None
    n_points: int
    max_violation: float
    share_violating: float
    min_slack: float
    active: bool | None
    share_active: float | None
    active_tol: float | None
    multiplier: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class FeasibilityReport:
    """Feasibility of every bound and equality of a trained problem.

    Attributes:
        entries: one per one-sided bound and per equality.
        tol: violations above this count as violating.
        dtype: the dtype the model was evaluated in.
    """

    entries: tuple[BoundFeasibility, ...]
    tol: float = 0.0
    dtype: str = "float64"

    def __iter__(self) -> Iterator[BoundFeasibility]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, name: str) -> BoundFeasibility:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"no constraint named {name!r}; have {[e.name for e in self.entries]}")

    @property
    def max_violation(self) -> float:
        """The largest violation over every constraint (0 when there are none)."""
        return max((e.max_violation for e in self.entries), default=0.0)

    @property
    def feasible(self) -> bool:
        """True when no constraint is violated by more than ``tol``."""
        return all(e.max_violation <= self.tol for e in self.entries)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict for reports."""
        return {
            "tol": self.tol,
            "dtype": self.dtype,
            "feasible": self.feasible,
            "max_violation": self.max_violation,
            "constraints": [e.to_dict() for e in self.entries],
        }

    def table(self) -> str:
        """A readable table, one row per constraint."""
        head = (
            f"  {'constraint':<28} {'kind':<9} {'method':<9} {'points':>7} {'max viol':>10} "
            f"{'violating':>9} {'min slack':>10} {'active':>7} {'contact':>8}"
        )
        lines = [f"feasibility ({self.dtype}, tol {self.tol:g})", head]
        for e in self.entries:
            active = "-" if e.active is None else ("yes" if e.active else "no")
            contact = "-" if e.share_active is None or e.kind != "field" else f"{100 * e.share_active:.1f}%"
            slack = "-" if math.isnan(e.min_slack) else f"{e.min_slack:.3e}"
            rel = e.relation if len(e.relation) <= 28 else e.relation[:25] + "..."
            lines.append(
                f"  {rel:<28} {e.kind:<9} {e.method:<9} {e.n_points:>7d} {e.max_violation:>10.3e} "
                f"{100 * e.share_violating:>8.1f}% {slack:>10} {active:>7} {contact:>8}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def feasibility(
    result: Result,
    *,
    n: int = 10_000,
    tol: float = 0.0,
    active_tol: float | None = None,
    points: Mapping[str, np.ndarray] | None = None,
) -> FeasibilityReport:
    """Check every bound and equality of ``result.problem`` with the trained model.

    Args:
        result: a trained result with its problem.
        n: about how many points to check per field bound.
        tol: violations above this count as violating.
        active_tol: override the activity tolerance of every bound.
        points: ``{term name: (N, dim) array}`` to check a field bound on given points.
    """
    if result.problem is None:
        raise ValidationError("this result was loaded without its problem; pass it to Result.load(problem=)")
    problem = result.problem
    cs: ConstraintSet = problem.constraints
    return check(
        cs,
        result.model,
        problem.domain,
        n=n,
        tol=tol,
        active_tol=active_tol,
        eval_points=problem.evaluation_points(),
        points=points,
    )


def check(
    cs: ConstraintSet,
    model: nn.Module,
    domain: Domain | None,
    *,
    n: int = 10_000,
    tol: float = 0.0,
    active_tol: float | None = None,
    eval_points: np.ndarray | None = None,
    points: Mapping[str, np.ndarray] | None = None,
    unknowns: Sequence[str] | None = None,
) -> FeasibilityReport:
    """Feasibility of the constraints in ``cs`` for ``model`` (see :func:`feasibility`)."""
    ref = next(iter(model.parameters()), None)
    dtype, device = (ref.dtype, ref.device) if ref is not None else (torch.float64, torch.device("cpu"))
    scalars = {
        k: v.detach() if isinstance(v, torch.Tensor) else torch.tensor(float(v), dtype=dtype, device=device)
        for k, v in (model.scalars() if hasattr(model, "scalars") else {}).items()
    }
    unknowns = tuple(unknowns if unknowns is not None else getattr(model, "unknowns", ()))
    entries = []
    for q in cs.inequalities:
        if q.kind == "parameter":
            g = np.array([float(q.compiled(scalar_env(scalars)))])
        else:
            assert q.region is not None and domain is not None
            given = (points or {}).get(q.name)
            pts = (
                np.asarray(given, float)
                if given is not None
                else region_points(domain, q.region, n, eval_points)
            )
            g = evaluate_on_points(q.compiled, model, pts, unknowns, scalars, dtype, device)
        entries.append(_entry(q, g, tol, active_tol))
    for e in cs.compiled_equalities:
        h = abs(float(e.compiled(scalar_env(scalars))))
        entries.append(
            BoundFeasibility(
                e.name, f"{e.equality.expr} = 0", "equality", e.equality.method, None, 1, h,
                float(h > tol), math.nan, None, None, None,
            )
        )  # fmt: skip
    return FeasibilityReport(tuple(entries), float(tol), str(dtype).replace("torch.", ""))


def _entry(q: Inequality, g: np.ndarray, tol: float, active_tol: float | None) -> BoundFeasibility:
    b = q.bound
    if active_tol is None:
        active_tol = 1e-9 * (1.0 + abs(q.limit or 0.0)) if b.method in EXACT_METHODS else 20.0 / b.m
    violation = np.maximum(-g, 0.0)
    min_slack = float(g.min())
    multiplier = None
    if q.kind == "parameter" and b.method == "barrier":
        multiplier = b.weight * b.m * math.exp(min(-b.m * min_slack, b.cap))
    elif q.kind == "parameter" and b.method == "log":
        multiplier = b.weight / (b.m * max(min_slack, b.floor))
    return BoundFeasibility(
        name=q.name,
        relation=str(q.relation),
        kind=q.kind,
        method=b.method,
        region=q.region.name if q.region is not None else None,
        n_points=int(g.size),
        max_violation=float(violation.max()),
        share_violating=float(np.mean(violation > tol)),
        min_slack=min_slack,
        active=bool(min_slack <= active_tol),
        share_active=float(np.mean(g <= active_tol)),
        active_tol=float(active_tol),
        multiplier=multiplier,
    )


def region_points(
    domain: Domain, region: Region, n: int, eval_points: np.ndarray | None = None
) -> np.ndarray:
    """A fine set of about ``n`` points of ``region`` (float64, ``(N, dim)``)."""
    if isinstance(region, Interior):
        k = max(2, math.ceil(n ** (1.0 / domain.dim) - 1e-9))
        pts = domain.grid(k)
        pts = pts[domain.contains(pts)].numpy()
        if eval_points is not None and len(eval_points) > len(pts):
            pts = np.asarray(eval_points, dtype=np.float64)
        return pts
    fixed = region.fixed_points
    if fixed is not None:
        return fixed.detach().cpu().double().numpy()
    gen = torch.Generator()
    gen.manual_seed(0)
    pts = region.sample(n, gen, torch.float64, torch.device("cpu")).numpy()
    return np.unique(pts, axis=0)


def evaluate_on_points(
    expr: CompiledExpression,
    model: nn.Module,
    pts: np.ndarray,
    unknowns: Sequence[str],
    scalars: Mapping[str, torch.Tensor],
    dtype: torch.dtype,
    device: torch.device,
    batch_size: int = 65536,
) -> np.ndarray:
    """Values of a compiled expression of the model's unknowns at ``pts`` (float64)."""
    plan = DerivativePlan.build(expr.fields)
    engine = AutogradEngine()
    x = torch.as_tensor(pts, dtype=dtype, device=device)
    out = []
    was_training = model.training
    model.eval()
    try:
        for chunk in torch.split(x, batch_size):
            with torch.set_grad_enabled(bool(plan.steps)):
                fields = engine.evaluate(model, chunk, plan, tuple(unknowns), create_graph=False)
                env = Env(chunk.unbind(1), fields, scalars)
                out.append(expr(env).detach().cpu().double().numpy().reshape(-1))
    finally:
        model.train(was_training)
    return np.concatenate(out)
