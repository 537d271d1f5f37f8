"""Loss landscapes around a solution and a numerical convexity probe.

- :func:`loss_slice`: the loss along one or two random directions through the solution,
  ``f(theta + a d1 + b d2)``, with *filter-normalized* directions (Li et al., "Visualizing
  the Loss Landscape of Neural Nets", 2018): each row of a weight matrix (a neuron's
  filter) of a random Gaussian direction is rescaled to the norm of the same row of the
  parameters, so a step of 1 changes every neuron by its own size; vectors (biases,
  trainable scalars) are rescaled as a whole.
- :func:`convexity_probe`: checks ``f(a x + (1 - a) y) <= a f(x) + (1 - a) f(y)`` for
  ``a`` on a grid in ``[0, 1]`` between pairs of points, and reports every violation.

Both work for any callable ``f`` on flat vectors; :func:`result_loss` builds that callable
for a :class:`~pinnopt.Result` (its weighted training loss on its own collocation points).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, ValidationError
from ..losses import PointSet

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Result

FlatFn = Callable[[np.ndarray], float]


# -- flat parameter vectors -----------------------------------------------------------------------
def trainable(model: nn.Module) -> list[torch.Tensor]:
    """The trainable tensors of ``model`` in a fixed order."""
    return [p for p in model.parameters() if p.requires_grad]


def flat_parameters(model: nn.Module) -> np.ndarray:
    """The trainable parameters as one float64 numpy vector."""
    return torch.nn.utils.parameters_to_vector(trainable(model)).detach().cpu().double().numpy()


def set_flat_parameters(model: nn.Module, theta: np.ndarray) -> None:
    """Write a flat vector back into the trainable parameters (in place)."""
    params = trainable(model)
    vec = torch.as_tensor(np.asarray(theta), dtype=params[0].dtype, device=params[0].device)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(vec, params)


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> np.ndarray:
    """A random direction, filter-normalized to the model's parameters (flat, float64)."""
    parts = []
    for p in trainable(model):
        w = p.detach().cpu().double()
        d = torch.randn(w.shape, generator=generator, dtype=torch.float64)
        if w.dim() <= 1:
            dn = torch.linalg.vector_norm(d)
            d = d * (torch.linalg.vector_norm(w) / dn if dn > 0 else 0.0)
        else:
            rows_w = w.reshape(w.shape[0], -1)
            rows_d = d.reshape(d.shape[0], -1)
            scale = torch.linalg.vector_norm(rows_w, dim=1) / torch.linalg.vector_norm(
                rows_d, dim=1
            ).clamp_min(1e-300)
            d = (rows_d * scale[:, None]).reshape(w.shape)
        parts.append(d.reshape(-1))
    return torch.cat(parts).numpy()


# -- the loss of a result -------------------------------------------------------------------------
def result_points(result: Result, *, max_points: int | None = None) -> dict[str, PointSet]:
    """The collocation points of ``result``, re-drawn like :func:`pinnopt.solve` drew them.

    Uses the result's seed and per-region counts (``result.config["collocation"]``), so for a
    fresh solve these are the training points.
    """
    if result.compiled is not None:  # the training points of this session's solve
        return {
            name: p.head(max_points)
            for name, p in result.compiled.points.items()
        }
    if result.problem is None:
        raise ValidationError("this result was loaded without its problem; pass problem= to Result.load")
    counts = dict(result.config.get("collocation", {}))
    generator = torch.Generator(device=result.device).manual_seed(int(result.config.get("seed", 0)))
    sets: dict[str, PointSet] = {}
    regions = {}
    for spec in result.problem.terms:
        regions.setdefault(spec.region.name, spec.region)
    for name, region in regions.items():
        n = int(counts.get(name, 100))
        x = region.sample(n, generator, result.dtype, result.device)
        if max_points is not None:
            x = x[:max_points]
        normals = region.normals(x)
        sets[name] = PointSet(name, x, {"normal": normals} if normals is not None else {})
    return sets


def result_loss(result: Result, *, max_points: int | None = None) -> tuple[FlatFn, np.ndarray]:
    """``(f, theta)``: the weighted loss of ``result`` as a function of its flat parameters.

    ``f`` sets the model's parameters, evaluates the loss and restores nothing: call
    :func:`set_flat_parameters` with ``theta`` afterwards (the functions here do).
    """
    objective = result.objective
    points = result_points(result, max_points=max_points)
    model = result.model

    def f(theta: np.ndarray) -> float:
        set_flat_parameters(model, theta)
        total, _ = objective(model, points, create_graph=False)
        return float(total.detach())

    return f, flat_parameters(model)


# -- slices ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossSlice:
    """Loss values on a line (``betas`` empty) or a plane through ``theta``.

    Attributes:
        alphas, betas: the step sizes along the first and second direction.
        values: ``(len(alphas),)`` or ``(len(betas), len(alphas))`` losses.
        center: the loss at ``theta``.
    """

    alphas: np.ndarray
    betas: np.ndarray
    values: np.ndarray
    center: float

    @property
    def dims(self) -> int:
        """1 or 2."""
        return 1 if self.betas.size == 0 else 2


def loss_slice(
    f: FlatFn,
    theta: np.ndarray,
    directions: Sequence[np.ndarray],
    *,
    span: float = 1.0,
    n: int = 21,
) -> LossSlice:
    """``f(theta + a d1 [+ b d2])`` for ``a, b`` in ``[-span, span]`` (``n`` values each)."""
    if len(directions) not in (1, 2):
        raise ConfigError(f"loss_slice takes 1 or 2 directions, got {len(directions)}")
    theta = np.asarray(theta, dtype=np.float64)
    ds = [np.asarray(d, dtype=np.float64) for d in directions]
    if any(d.shape != theta.shape for d in ds):
        raise ConfigError("directions must have the shape of theta")
    alphas = np.linspace(-span, span, n)
    try:
        center = f(theta)
        if len(ds) == 1:
            values = np.array([f(theta + a * ds[0]) for a in alphas])
            return LossSlice(alphas, np.array([]), values, center)
        betas = np.linspace(-span, span, n)
        values = np.array([[f(theta + a * ds[0] + b * ds[1]) for a in alphas] for b in betas])
        return LossSlice(alphas, betas, values, center)
    finally:
        f(theta)


def result_landscape(
    result: Result,
    *,
    dims: int = 1,
    span: float = 1.0,
    n: int = 21,
    seed: int = 0,
    max_points: int | None = None,
) -> LossSlice:
    """The loss of ``result`` along ``dims`` random filter-normalized directions around its solution."""
    f, theta = result_loss(result, max_points=max_points)
    g = torch.Generator().manual_seed(seed)
    directions = [filter_normalized_direction(result.model, g) for _ in range(dims)]
    try:
        return loss_slice(f, theta, directions, span=span, n=n)
    finally:
        set_flat_parameters(result.model, theta)


# -- convexity ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvexityViolation:
    """``f(a x + (1 - a) y) > a f(x) + (1 - a) f(y)`` on pair ``pair`` at ``alpha``."""

    pair: int
    alpha: float
    value: float
    chord: float

    @property
    def gap(self) -> float:
        """How far the function lies above the chord."""
        return self.value - self.chord


@dataclass(frozen=True)
class ConvexityReport:
    """The outcome of :func:`convexity_probe`."""

    n_pairs: int
    alphas: np.ndarray
    violations: tuple[ConvexityViolation, ...]
    rtol: float
    curves: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def convex(self) -> bool:
        """No violation found (evidence, not proof, of convexity along the probed lines)."""
        return not self.violations

    @property
    def worst(self) -> ConvexityViolation | None:
        """The violation with the largest gap."""
        return max(self.violations, key=lambda v: v.gap, default=None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        w = self.worst
        return {
            "convex_along_probes": self.convex,
            "pairs": self.n_pairs,
            "alphas": len(self.alphas),
            "violations": len(self.violations),
            "violating_pairs": len({v.pair for v in self.violations}),
            "worst_gap": None if w is None else w.gap,
            "rtol": self.rtol,
        }

    def __str__(self) -> str:
        if self.convex:
            return (
                f"convexity probe: no violation on {self.n_pairs} lines x {len(self.alphas)} points "
                f"(tolerance {self.rtol:g})"
            )
        w = self.worst
        assert w is not None
        pairs = len({v.pair for v in self.violations})
        return (
            f"convexity probe: {len(self.violations)} violations on {pairs} of {self.n_pairs} lines; worst "
            f"f = {w.value:.4g} above the chord {w.chord:.4g} (gap {w.gap:.3g}) at a = {w.alpha:.3g} "
            f"on line {w.pair}"
        )


def convexity_probe(
    f: FlatFn,
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    n_alpha: int = 11,
    rtol: float = 1e-9,
) -> ConvexityReport:
    """Check ``f(a x + (1 - a) y) <= a f(x) + (1 - a) f(y)`` on ``n_alpha`` values of ``a``.

    A violation is reported where the function exceeds the chord by more than
    ``rtol * (|f(x)| + |f(y)| + 1)`` (round-off allowance).
    """
    if n_alpha < 3:
        raise ConfigError(f"n_alpha={n_alpha}: need at least 3 points per line")
    alphas = np.linspace(0.0, 1.0, n_alpha)
    violations = []
    curves = []
    for k, (x, y) in enumerate(pairs):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        fx, fy = f(x), f(y)
        allowance = rtol * (abs(fx) + abs(fy) + 1.0)
        curve = np.empty(n_alpha)
        curve[0], curve[-1] = fy, fx
        for i, a in enumerate(alphas[1:-1], start=1):
            value = f(a * x + (1 - a) * y)
            curve[i] = value
            chord = a * fx + (1 - a) * fy
            if not np.isfinite(value) or value > chord + allowance:
                violations.append(ConvexityViolation(k, float(a), float(value), float(chord)))
        curves.append(curve)
    return ConvexityReport(len(pairs), alphas, tuple(violations), rtol, curves)


def random_pairs(
    center: np.ndarray, n_pairs: int, scale: float | np.ndarray, *, seed: int = 0, through_center: bool = True
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs of points around ``center``: ``(center, center + scale z)`` or two random points."""
    rng = np.random.default_rng(seed)
    center = np.asarray(center, dtype=np.float64)
    out = []
    for _ in range(n_pairs):
        y = center + scale * rng.standard_normal(center.shape)
        x = center if through_center else center + scale * rng.standard_normal(center.shape)
        out.append((x, y))
    return out


def result_convexity(
    result: Result,
    *,
    n_pairs: int = 8,
    span: float = 1.0,
    n_alpha: int = 11,
    seed: int = 0,
    max_points: int | None = None,
) -> ConvexityReport:
    """The convexity probe of ``result``'s loss on lines from its solution.

    Each line runs from the solution to the solution plus ``span`` times a random
    filter-normalized direction.
    """
    f, theta = result_loss(result, max_points=max_points)
    g = torch.Generator().manual_seed(seed)
    pairs = [(theta, theta + span * filter_normalized_direction(result.model, g)) for _ in range(n_pairs)]
    try:
        return convexity_probe(f, pairs, n_alpha=n_alpha)
    finally:
        set_flat_parameters(result.model, theta)
