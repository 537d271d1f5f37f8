"""Inner maximizers (find the worst ``xi``) and aggregations (turn losses over ``xi`` into one).

An inner maximizer searches the uncertainty space for the ``xi`` that make a group of loss
terms largest, given ``f(xi, grad) -> values``: one loss per row of ``xi`` (``(K, n)``),
differentiable with respect to ``xi`` when ``grad`` is true. It returns candidate points and
their values; the robust term then aggregates the losses at the candidates (hard maximum,
log-sum-exp, CVaR, mean) with the graph to the trainable parameters (Danskin: the
gradient of a maximum is the gradient at the maximizer).

- :class:`Vertices`: every extreme point. Exact for losses convex in ``xi`` on polytopes
  (boxes, budgeted sets) and for finite scenario sets; **wrong** when the worst case lies
  inside the set (a loss not convex in ``xi``): the certificate then reports a gap.
- :class:`GridSearch`: a fixed dense cloud of points (grids for small boxes); exhaustive in low
  dimension, and with :class:`Mean` a fixed quadrature over the set.
- :class:`Sampling`: fresh random points each search, plus the best one so far.
- :class:`PGA`: projected (normalized) gradient ascent from several starts, warm-started
  from the previous search's end points; finds interior worst cases.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from ..declare.uncertainty.space import UncertaintySpace
from ..errors import ConfigError

Values = Callable[[torch.Tensor, bool], torch.Tensor]
"""``f(xi, grad) -> (K,)`` losses at the rows of ``xi``; differentiable in ``xi`` if ``grad``."""


@dataclass
class SearchContext:
    """What a search needs besides the loss: the space, randomness, the tensor kind, memory.

    ``state`` is training state (warm starts; saved with the term's ``state_dict``);
    ``cache`` holds constants such as the vertex list (not saved).
    """

    space: UncertaintySpace
    generator: torch.Generator
    dtype: torch.dtype
    device: torch.device
    state: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def tensor(self, value: Any) -> torch.Tensor:
        """``value`` as a tensor of the model's dtype and device."""
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    def sample(self, n: int) -> torch.Tensor:
        """``n`` random points of the space."""
        return self.space.sample(n, self.generator).to(self.dtype)

    def constant(self, key: str, make: Callable[[], Any]) -> torch.Tensor:
        """A cached constant tensor (vertices, grids)."""
        if key not in self.cache:
            self.cache[key] = self.tensor(make())
        return self.cache[key]


class InnerMaximizer(abc.ABC):
    """Base class of inner maximizers."""

    def check(self, space: UncertaintySpace) -> None:  # noqa: B027 - optional hook
        """Raise :class:`~pinnopt.ConfigError` if the method cannot search ``space``."""

    @abc.abstractmethod
    def search(self, f: Values, ctx: SearchContext) -> tuple[torch.Tensor, torch.Tensor]:
        """Return candidates ``(K, n)`` and their losses ``(K,)``, both detached."""

    def points(self, ctx: SearchContext) -> torch.Tensor | None:
        """The candidates when they do not depend on the loss (vertices, a grid, fixed
        samples), else None. A soft aggregate over them needs no search evaluation."""
        return None

    def config(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"method": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


def _positive_int(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{owner}({name}={value!r}): expected an int >= 1")


@dataclass(frozen=True)
class Vertices(InnerMaximizer):
    """Evaluate every extreme point of the space (exact for losses convex in ``xi``).

    Args:
        limit: refuse spaces with more extreme points than this.
    """

    limit: int = 4096

    def __post_init__(self) -> None:
        _positive_int("Vertices", "limit", self.limit)

    def check(self, space: UncertaintySpace) -> None:
        count = space.n_vertices()
        if count is None:
            raise ConfigError(
                f"Vertices(): {space.describe()} has infinitely many extreme points (an ellipsoid's are its "
                "whole boundary); use po.robust.PGA(), Sampling() or GridSearch()"
            )
        if count > self.limit:
            raise ConfigError(
                f"Vertices(): {space.describe()} has {count} extreme points, more than limit={self.limit}; "
                "use po.robust.PGA() or Sampling(), a Budget set, or raise the limit"
            )

    def search(self, f: Values, ctx: SearchContext) -> tuple[torch.Tensor, torch.Tensor]:
        v = ctx.constant("vertices", ctx.space.vertices)
        return v, f(v, False).detach()

    def points(self, ctx: SearchContext) -> torch.Tensor:
        return ctx.constant("vertices", ctx.space.vertices)


@dataclass(frozen=True)
class GridSearch(InnerMaximizer):
    """Evaluate a fixed dense set of about ``n`` points (a grid for boxes of up to 3 coefficients)."""

    n: int = 64

    def __post_init__(self) -> None:
        _positive_int("GridSearch", "n", self.n)

    def search(self, f: Values, ctx: SearchContext) -> tuple[torch.Tensor, torch.Tensor]:
        pts = self.points(ctx)
        return pts, f(pts, False).detach()

    def points(self, ctx: SearchContext) -> torch.Tensor:
        return ctx.constant("grid", lambda: ctx.space.dense(self.n, ctx.generator))


@dataclass(frozen=True)
class Sampling(InnerMaximizer):
    """Random points of the set (seeded), plus the worst point of the previous search.

    Args:
        n: points per search.
        resample: draw new points at every search (False: draw once, keep them).
        warm_start: also evaluate the previous search's worst point.
    """

    n: int = 64
    resample: bool = True
    warm_start: bool = True

    def __post_init__(self) -> None:
        _positive_int("Sampling", "n", self.n)

    def search(self, f: Values, ctx: SearchContext) -> tuple[torch.Tensor, torch.Tensor]:
        if self.resample or "samples" not in ctx.state:
            ctx.state["samples"] = ctx.sample(self.n)
        pts = ctx.state["samples"]
        if self.warm_start and "best" in ctx.state:
            pts = torch.cat([ctx.state["best"], pts])
        values = f(pts, False).detach()
        ctx.state["best"] = pts.index_select(0, values.argmax().reshape(1))  # no host sync
        return pts, values

    def points(self, ctx: SearchContext) -> torch.Tensor | None:
        if self.resample:
            return None
        if "samples" not in ctx.state:
            ctx.state["samples"] = ctx.sample(self.n)
        return ctx.state["samples"]


@dataclass(frozen=True)
class PGA(InnerMaximizer):
    """Projected gradient ascent from several starts, warm-started across outer steps.

    Each start moves along its normalized gradient by its own step length (in units of the
    set's RMS half-width), then is projected onto the set. A step that
    raises the loss is taken and the step length doubles; one that does not is refused
    and the step length halves. Starts and step lengths carry over to the next
    search (the worst case moves little between outer steps), so the ascent keeps refining
    an interior maximum instead of starting over.

    Args:
        steps: ascent steps per search (each one evaluation with the gradient in ``xi``).
        restarts: number of starts.
        lr: step length of fresh starts, as a fraction of the set's half-width (also the
            largest step length).
        explore: starts drawn fresh at random each search (the others continue from the
            previous search).
        vertices: also evaluate every extreme point (when there are at most 64), which
            makes the search exact for convex losses and still finds interior maxima.
    """

    steps: int = 10
    restarts: int = 4
    lr: float = 0.3
    explore: int = 1
    vertices: bool = False

    def __post_init__(self) -> None:
        _positive_int("PGA", "steps", self.steps)
        _positive_int("PGA", "restarts", self.restarts)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"PGA(lr={self.lr!r}): expected a positive step length")
        if not (isinstance(self.explore, int) and 0 <= self.explore <= self.restarts):
            raise ConfigError(f"PGA(explore={self.explore!r}): expected an int in [0, restarts]")

    def check(self, space: UncertaintySpace) -> None:
        finite = [", ".join(b.names) for b in space.blocks if b.set.finite]
        if finite:
            raise ConfigError(
                f"PGA(): coefficients {finite} take values in a finite scenario set, which has no interior "
                "to climb; use po.robust.Vertices() (exact: evaluates every scenario) or Sampling()"
            )

    def search(self, f: Values, ctx: SearchContext) -> tuple[torch.Tensor, torch.Tensor]:
        warm, warm_h = ctx.state.get("points"), ctx.state.get("step")
        keep = self.restarts - self.explore
        starts, lengths = [], []
        if warm is not None and warm_h is not None and keep > 0:
            starts.append(warm[:keep])
            lengths.append(warm_h[:keep])
        fresh = self.restarts - sum(len(s) for s in starts)
        if fresh > 0:
            starts.append(ctx.sample(fresh))
            lengths.append(torch.full((fresh,), self.lr, dtype=ctx.dtype, device=ctx.device))
        x = torch.cat(starts).detach()
        # A warm start begins with 4x its last step length: the worst case has moved with the
        # outer step, and a length shrunk while converging would take long to grow back.
        h = (4 * torch.cat(lengths)).clamp(1e-8, self.lr)
        # One length unit for every direction (the RMS half-width): the step follows the plain
        # gradient, the direction for which a Euclidean projection step is an ascent step.
        unit = ctx.constant("unit", lambda: float(np.sqrt(np.mean(ctx.space.scale() ** 2))))

        def value_and_grad(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            p = p.detach().requires_grad_(True)
            values = f(p, True)
            (grad,) = torch.autograd.grad(values.sum(), p)
            return values.detach(), grad

        with torch.enable_grad():
            v, g = value_and_grad(x)
            for _ in range(self.steps):
                d = g / g.norm(dim=1, keepdim=True).clamp_min(1e-300)
                trial = ctx.space.project(x + (h * unit)[:, None] * d)
                tv, tg = value_and_grad(trial)
                up = tv > v
                x = torch.where(up[:, None], trial, x)
                v = torch.where(up, tv, v)
                g = torch.where(up[:, None], tg, g)
                h = torch.where(up, (2 * h).clamp_max(self.lr), (0.5 * h).clamp_min(1e-12))
        order = torch.argsort(v, descending=True)  # warm starts continue from the best
        ctx.state["points"], ctx.state["step"] = x[order], h[order]
        if self.vertices:
            count = ctx.space.n_vertices()
            if count is not None and count <= 64:
                verts = ctx.constant("vertices", ctx.space.vertices)
                return torch.cat([x, verts]), torch.cat([v, f(verts, False).detach()])
        return x, v


def default_method(space: UncertaintySpace) -> InnerMaximizer:
    """Vertices for finite sets; otherwise PGA, plus the vertices when there are at most 64."""
    if space.finite:
        return Vertices()
    if any(b.set.finite for b in space.blocks):
        return Sampling()
    count = space.n_vertices()
    return PGA(vertices=count is not None and count <= 64)


class Aggregate(abc.ABC):
    """Turns the losses at the candidates (``(K,)``) into the group's loss."""

    hard: bool = False
    """True when only the worst candidates matter (the term may drop the others)."""

    least_squares: bool = False
    """True when the aggregate is, at the current candidates, a convex combination of their
    losses (:meth:`select`): a worst case (the maximizer), a mean, a CVaR. Then a group of
    sums of squares stays a sum of squares, which Levenberg-Marquardt needs."""

    @abc.abstractmethod
    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """The aggregated loss (0-d)."""

    def select(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(indices, coefficients)`` with ``self(values) == sum_j c_j values[i_j]`` (the
        selection held fixed: Danskin's envelope), or None when no such selection exists."""
        return None

    def config(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"aggregate": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class Max(Aggregate):
    """The worst case: the largest loss over the candidates."""

    hard = True
    least_squares = True

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        return values.max()

    def select(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return values.argmax().reshape(1), torch.ones(1, dtype=values.dtype, device=values.device)


@dataclass(frozen=True)
class LogSumExp(Aggregate):
    """A soft worst case: ``T log(mean(exp(L / T)))``, between the mean (T large) and the max (T -> 0).

    ``temperature`` is in the units of the loss.
    """

    temperature: float = 1e-2

    def __post_init__(self) -> None:
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise ConfigError(f"LogSumExp(temperature={self.temperature!r}): expected a positive number")

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        t = self.temperature
        return t * (torch.logsumexp(values / t, 0) - math.log(values.numel()))


@dataclass(frozen=True)
class CVaR(Aggregate):
    """Conditional value at risk: the mean of the worst ``alpha`` fraction of the candidates.

    ``alpha = 1`` is the mean, ``alpha -> 0`` the maximum. Meant for sampled candidates.
    """

    alpha: float = 0.1

    def __post_init__(self) -> None:
        if not (0 < self.alpha <= 1):
            raise ConfigError(f"CVaR(alpha={self.alpha!r}): expected a fraction in (0, 1]")

    least_squares = True

    def _count(self, values: torch.Tensor) -> int:
        return max(1, math.ceil(self.alpha * values.numel() - 1e-9))

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        return torch.topk(values, self._count(values)).values.mean()

    def select(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self._count(values)
        return torch.topk(values, k).indices, torch.full(
            (k,), 1.0 / k, dtype=values.dtype, device=values.device
        )


@dataclass(frozen=True)
class Mean(Aggregate):
    """The mean over the candidates: "for every xi" on average (e.g. the physics of a
    parametric network over a :class:`GridSearch` of the set), not a worst case."""

    least_squares = True

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        return values.mean()

    def select(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = values.numel()
        return torch.arange(k, device=values.device), torch.full(
            (k,), 1.0 / k, dtype=values.dtype, device=values.device
        )
