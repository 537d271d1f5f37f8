"""Verify derivatives numerically: compiled input derivatives and the loss gradient.

Two checks, both on the problem's own collocation points, in float64 on a copy of the
model:

- **fields**: every derivative a term needs (``u_x``, ``u_xx``, ``u_xxt``...) is compared
  with the central difference, along one coordinate, of the derivative one order lower,
  both computed by the derivative engine. Checking the whole chain down to the values
  verifies every field by induction, with first-order differences only (accurate to
  ~1e-10 where a direct fourth-order stencil would give ~1e-3).
- **loss gradient**: the autograd gradient of the weighted loss with respect to the
  trainable parameters, projected on random directions and on single coordinates (every
  trainable scalar plus a few network weights), against central differences of the loss.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..compile.stage import compile_problem
from ..declare.problem import Problem
from ..domain.sampling import Collocation
from ..losses import Objective, PointSet
from ..symbolic import AutogradEngine, DerivativeEngine, DerivativePlan, Field

DEFAULT_RTOL = 1e-5


@dataclass(frozen=True)
class FieldMismatch:
    """Autograd versus finite differences for one field on one point set."""

    point_set: str
    field: str
    max_abs: float
    rel: float
    n_points: int


@dataclass(frozen=True)
class GradientMismatch:
    """Autograd versus finite differences for one directional derivative of the loss."""

    label: str
    autograd: float
    finite_diff: float
    rel: float


@dataclass(frozen=True)
class GradCheckReport:
    """The outcome of :func:`gradient_check`."""

    fields: tuple[FieldMismatch, ...]
    gradient: tuple[GradientMismatch, ...]
    rtol: float = DEFAULT_RTOL
    loss: float = float("nan")
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def worst_field(self) -> FieldMismatch | None:
        """The field with the largest relative mismatch."""
        return max(self.fields, key=lambda f: f.rel, default=None)

    @property
    def worst_gradient(self) -> GradientMismatch | None:
        """The loss-gradient projection with the largest relative mismatch."""
        return max(self.gradient, key=lambda g: g.rel, default=None)

    @property
    def worst(self) -> float:
        """The largest relative mismatch of all."""
        return max([f.rel for f in self.fields] + [g.rel for g in self.gradient], default=0.0)

    @property
    def passed(self) -> bool:
        """Every mismatch is below ``rtol``."""
        return self.worst <= self.rtol

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "passed": self.passed,
            "rtol": self.rtol,
            "worst": self.worst,
            "loss": self.loss,
            "fields": [f.__dict__ for f in self.fields],
            "gradient": [g.__dict__ for g in self.gradient],
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        lines = ["gradient check (float64): autograd versus central finite differences"]
        lines.append(f"  {'point set':<12} {'field':<12} {'max |ad - fd|':>14} {'rel':>10}")
        for f in self.fields:
            lines.append(f"  {f.point_set:<12} {f.field:<12} {f.max_abs:>14.2e} {f.rel:>10.2e}")
        lines.append(f"  {'loss gradient':<25} {'autograd':>14} {'finite diff':>14} {'rel':>10}")
        for g in self.gradient:
            lines.append(f"  {g.label:<25} {g.autograd:>14.6e} {g.finite_diff:>14.6e} {g.rel:>10.2e}")
        wf, wg = self.worst_field, self.worst_gradient
        if wf is not None:
            lines.append(f"  worst field mismatch {wf.rel:.2e} ({wf.point_set} {wf.field})")
        if wg is not None:
            lines.append(f"  worst gradient mismatch {wg.rel:.2e} ({wg.label})")
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.append(f"  {'ok' if self.passed else 'MISMATCH'} (tolerance {self.rtol:g})")
        return "\n".join(lines)


def gradient_check(
    problem: Problem,
    model: nn.Module | None = None,
    *,
    points: Mapping[str, PointSet] | None = None,
    collocation: Collocation | None = None,
    engine: DerivativeEngine | None = None,
    seed: int = 0,
    max_points: int = 256,
    n_directions: int = 4,
    n_coordinates: int = 4,
    rtol: float = DEFAULT_RTOL,
) -> GradCheckReport:
    """Compare compiled derivatives and the loss gradient with finite differences.

    Args:
        problem: the declared problem.
        model: the model to check (a :class:`~pinnopt.nn.PINN`; default: a fresh default
            network seeded with ``seed``). It is copied to float64; the original is untouched.
        points: point sets (default: sampled like :func:`pinnopt.solve` with ``collocation``).
        collocation: point counts when sampling.
        engine: the derivative engine to check (default: autograd).
        seed: seeds the network, the points and the random directions.
        max_points: at most this many points of each set are used.
        n_directions: random directions for the loss gradient.
        n_coordinates: single network weights checked (every trainable scalar is checked too).
        rtol: relative mismatch above which the check fails.
    """
    generator = torch.Generator().manual_seed(seed)
    device = torch.device("cpu") if model is None else next(iter(model.parameters()), torch.zeros(())).device
    compiled = compile_problem(
        problem,
        collocation=collocation,
        points=points,
        engine=engine if engine is not None else AutogradEngine(),
        dtype=torch.float64,
        device=device,
        seed=seed,
    )
    model = copy.deepcopy(model if model is not None else compiled.model).to(torch.float64)
    points = {
        k: p.head(max_points)
        for k, p in compiled.points.items()
    }
    objective = compiled.objective
    fields = _check_fields(problem, model, objective, points)
    gradient, loss, notes = _check_gradient(model, objective, points, generator, n_directions, n_coordinates)
    return GradCheckReport(tuple(fields), tuple(gradient), rtol, loss, tuple(notes))


def _chain(wanted: Sequence[Field]) -> dict[Field, int]:
    """Every field of positive order needed, down to the values, with its difference axis."""
    todo = list(wanted)
    axis_of: dict[Field, int] = {}
    while todo:
        f = todo.pop()
        if f.order == 0 or f in axis_of:
            continue
        axis = max(a for a, k in enumerate(f.orders) if k > 0)
        axis_of[f] = axis
        todo.append(f.lowered(axis))
    return axis_of


def _check_fields(
    problem: Problem, model: nn.Module, objective: Objective, points: Mapping[str, PointSet]
) -> list[FieldMismatch]:
    lower, upper = problem.domain.bounds
    coords = problem.coordinates
    out = []
    for name, plan in objective.plans.items():
        axis_of = _chain(sorted(plan.wanted))
        if not axis_of:
            continue
        full = DerivativePlan.build(
            set(plan.wanted) | set(axis_of) | {f.lowered(a) for f, a in axis_of.items()}
        )
        x = points[name].x
        base = objective.engine.evaluate(model, x, full, objective.unknowns, create_graph=False)
        shifted: dict[tuple[int, int], dict[Field, torch.Tensor]] = {}
        steps = {}
        for axis in sorted(set(axis_of.values())):
            h = 1e-5 * (upper[axis] - lower[axis])
            steps[axis] = h
            for sign in (1, -1):
                xs = x.clone()
                xs[:, axis] += sign * h
                shifted[(axis, sign)] = objective.engine.evaluate(
                    model, xs, full, objective.unknowns, create_graph=False
                )
        for f, axis in sorted(axis_of.items(), key=lambda kv: (kv[0].order, kv[0])):
            low = f.lowered(axis)
            fd = (shifted[(axis, 1)][low] - shifted[(axis, -1)][low]).detach() / (2 * steps[axis])
            ad = base[f].detach()
            err = float(torch.max(torch.abs(ad - fd)))
            scale = max(float(torch.max(torch.abs(ad))), float(torch.max(torch.abs(fd))), 1e-12)
            out.append(FieldMismatch(name, f.label(coords), err, err / scale, int(x.shape[0])))
    return out


def _check_gradient(
    model: nn.Module,
    objective: Objective,
    points: Mapping[str, PointSet],
    generator: torch.Generator,
    n_directions: int,
    n_coordinates: int,
) -> tuple[list[GradientMismatch], float, list[str]]:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return [], float("nan"), ["the model has no trainable parameters"]
    theta0 = torch.nn.utils.parameters_to_vector(params).detach().clone()

    def loss_at(theta: torch.Tensor) -> float:
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(theta, params)
        total, _ = objective(model, points, create_graph=False)
        return float(total.detach())

    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(theta0, params)
    total, _ = objective(model, points, create_graph=True)
    grads = torch.autograd.grad(total, params, allow_unused=True)
    g = torch.cat(
        [
            (gr if gr is not None else torch.zeros_like(p)).reshape(-1)
            for gr, p in zip(grads, params, strict=True)
        ]
    ).detach()
    loss0 = float(total.detach())
    checks: list[tuple[str, torch.Tensor, float]] = []
    n = theta0.numel()
    for i in range(n_directions):
        v = torch.randn(n, generator=generator, dtype=torch.float64).to(theta0.device)
        checks.append((f"random direction {i}", v, 1e-6))
    scalar_names: dict[int, str] = {}
    named = dict(model.named_parameters())
    offset = 0
    for pname, p in named.items():
        if not p.requires_grad:
            continue
        if pname.startswith("params."):
            scalar_names[offset] = f"parameter {pname.removeprefix('params.')}"
        offset += p.numel()
    picks = list(scalar_names)
    others = [i for i in torch.randperm(n, generator=generator).tolist() if i not in scalar_names]
    picks += others[:n_coordinates]
    for i in picks:
        v = torch.zeros(n, dtype=torch.float64, device=theta0.device)
        v[i] = 1.0
        checks.append((scalar_names.get(i, f"weight #{i}"), v, 1e-6 * max(1.0, abs(float(theta0[i])))))
    floor = 1e-8 * float(torch.linalg.vector_norm(g)) + 1e-14 * (abs(loss0) + 1.0)
    out = []
    try:
        for label, v, h in checks:
            ad = float(torch.dot(g, v))
            fd = (loss_at(theta0 + h * v) - loss_at(theta0 - h * v)) / (2 * h)
            rel = abs(ad - fd) / max(abs(ad), abs(fd), floor)
            out.append(GradientMismatch(label, ad, fd, rel))
    finally:
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(theta0, params)
    return out, loss0, []
