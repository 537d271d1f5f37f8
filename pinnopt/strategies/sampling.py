"""Adaptive collocation as training hooks: fresh resampling, RAR and RAD.

* :class:`Resample` draws every sampled point set afresh every ``every`` steps.
* :class:`RAR` (residual-based adaptive refinement, Lu et al. 2021) adds the ``add``
  candidate points with the largest residual every ``every`` steps.
* :class:`RAD` (residual-based adaptive distribution, Wu et al. 2023) redraws a point set
  from candidates with probability ``p ~ r^k / mean(r^k) + c``.

The hooks draw through the problem's point sources (region, count, sampler), which
:func:`pinnopt.solve` binds to them, with their own seeded generator (checkpointed in
``state_dict``). Residuals on candidates come from the objective's own terms, evaluated in
chunks without keeping the autograd graph.

New points change the objective. First-order phases (Adam) take that in their stride; an
L-BFGS phase expects a fixed objective, so either refine only during Adam (``until=`` its
last step) or split L-BFGS into phases whose boundaries fall on the refinement steps
(``start=`` the first L-BFGS step, ``every=`` the L-BFGS phase length): each phase then
starts afresh on the new points. Levenberg-Marquardt keeps no curvature memory (it builds
its Jacobian at every step), so refinement may run during it: every ``every`` steps is a
round of LM steps on fixed points (docs/optimizers.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..domain.sampling import PointSource
from ..errors import ConfigError
from ..losses import PointSet, ResidualTerm
from ..losses.hooks import TrainingHook, TrainingUpdate, TrainingView


class SamplingHook(TrainingHook):
    """Base of hooks that act at steps ``start, start + every, ...`` up to ``until``.

    ``start`` defaults to ``every``.
    """

    name = "sampling"
    _FIELDS: tuple[str, ...] = ("every", "sets", "until", "start")
    """The settings that define what the hook does (its run identity and ``repr``)."""

    def __init__(
        self, every: int, sets: Sequence[str] | None, until: int | None, start: int | None = None
    ) -> None:
        if not isinstance(every, int) or every < 1:
            raise ConfigError(f"{type(self).__name__}(every={every!r}): expected an int >= 1")
        for label, v in (("until", until), ("start", start)):
            if v is not None and (not isinstance(v, int) or v < 0):
                raise ConfigError(f"{type(self).__name__}({label}={v!r}): expected an int >= 0 or None")
        if isinstance(sets, str):
            sets = [sets]
        self.every = every
        self.until = until
        self.start = every if start is None else start
        self.sets = None if sets is None else list(sets)
        self.updates = 0
        self.sources: dict[str, PointSource] = {}
        self.generator: torch.Generator | None = None
        self.dtype = torch.float64
        self.device = torch.device("cpu")
        self._pending: dict[str, dict[str, torch.Tensor]] | None = None
        self._last_points: dict[str, dict[str, torch.Tensor]] = {}

    def settings(self) -> dict[str, Any]:
        """The hook's defining settings (``every``, ``sets``... and its own), for the run's
        fingerprint and configuration: resuming with other settings is refused."""
        return {f: getattr(self, f) for f in self._FIELDS}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"

    def bind(
        self, sources: Mapping[str, PointSource], *, seed: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        """Attach the problem's point sources and a generator seeded with ``seed``."""
        self.sources = dict(sources)
        names = self.target_sets()
        bad = [n for n in names if n not in self.sources or self.sources[n].fixed]
        if bad:
            sampled = sorted(n for n, s in self.sources.items() if not s.fixed)
            raise ConfigError(
                f"{type(self).__name__}: point sets {bad} are not sampled point sets of this problem; "
                f"sampled sets are {sampled}"
            )
        self.dtype, self.device = dtype, torch.device(device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def target_sets(self) -> list[str]:
        """The point sets this hook redraws."""
        if self.sets is not None:
            return list(self.sets)
        return [n for n, s in self.sources.items() if not s.fixed]

    def due(self, step: int) -> bool:
        """Whether to act after ``step``."""
        return (
            step >= self.start
            and (step - self.start) % self.every == 0
            and (self.until is None or step <= self.until)
        )

    def on_train_start(self, view: TrainingView) -> TrainingUpdate | None:
        if self.generator is None:
            raise ConfigError(
                f"{type(self).__name__} is not bound to a problem: pass it to po.solve(strategies=[...]) or "
                "call hook.bind(point_sources, seed=..., dtype=..., device=...)"
            )
        fixed = [
            (t.name, t.point_set)
            for t in view.terms
            if getattr(t, "fixed_points", False) and t.point_set in self.target_sets()
        ]
        if fixed:
            raise ConfigError(
                f"{type(self).__name__} replaces the points of {sorted({s for _, s in fixed})}, but terms "
                f"{[n for n, _ in fixed]} keep per-point state (self-adaptive weights) that needs fixed "
                "point sets: drop the sampling hook, or the per-point weighting"
            )
        pending = self._pending_sets(view.points)
        return TrainingUpdate(points=pending) if pending else None

    def on_step(self, view: TrainingView) -> TrainingUpdate | None:
        new = self._pending_sets(view.points)
        if self.due(view.step):
            points = {**view.points, **new}
            for name in self.target_sets():
                points[name] = new[name] = self.update(view, points, name)
            self.updates += 1
        return TrainingUpdate(points=new) if new else None

    def update(self, view: TrainingView, points: Mapping[str, PointSet], name: str) -> PointSet:
        """The new point set ``name`` (``points``: the current sets, earlier updates included)."""
        raise NotImplementedError

    def draw(self, name: str, n: int | None = None) -> PointSet:
        """Draw from the source of ``name`` with this hook's generator."""
        assert self.generator is not None
        return PointSet.draw(self.sources[name], self.generator, self.dtype, self.device, n)

    # -- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "updates": self.updates,
            "generator": None if self.generator is None else self.generator.get_state(),
            "points": dict(self._last_points),
        }

    def remember(self, ps: PointSet) -> PointSet:
        """Keep a host copy of an updated set for checkpoints (refined sets are not re-drawable)."""
        self._last_points = {**self._last_points, ps.name: {"x": ps.x.detach().cpu(), **ps.data}}
        return ps

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state.get("updates", 0))
        if state.get("generator") is not None and self.generator is not None:
            self.generator.set_state(state["generator"])
        self._pending = dict(state.get("points", {})) or None

    def _pending_sets(self, points: Mapping[str, PointSet]) -> dict[str, PointSet]:
        """The sets restored from a checkpoint that the run does not hold yet."""
        out: dict[str, PointSet] = {}
        if not self._pending:
            return out
        for name, saved in self._pending.items():
            x = saved["x"].to(self.device, self.dtype)
            data = {k: v.to(self.device, self.dtype) for k, v in saved.items() if k != "x"}
            current = points.get(name)
            if current is not None and _same_points(current, x, data):
                continue  # the trainer restored this set already: keep the object its batches refer to
            out[name] = PointSet(name, x, data)
        self._pending = None
        return out


def _same_points(ps: PointSet, x: torch.Tensor, data: Mapping[str, torch.Tensor]) -> bool:
    """True when ``ps`` holds exactly ``x`` and ``data``."""
    if ps.x.shape != x.shape or set(ps.data) != set(data) or not torch.equal(ps.x, x):
        return False
    return all(ps.data[k].shape == v.shape and torch.equal(ps.data[k], v) for k, v in data.items())


class Resample(SamplingHook):
    """Draw the point sets afresh every ``every`` steps (default: every sampled set).

    Args:
        every: steps between redraws.
        sets: names of the point sets (``"interior"``, ``"x=-1"``...); default all sampled.
        until: last step at which to redraw (None: throughout).
        start: first step at which to redraw (default ``every``).
    """

    name = "resample"

    def __init__(
        self,
        every: int = 100,
        sets: Sequence[str] | None = None,
        until: int | None = None,
        start: int | None = None,
    ) -> None:
        super().__init__(every, sets, until, start)

    def update(self, view: TrainingView, points: Mapping[str, PointSet], name: str) -> PointSet:
        return self.draw(name)


class _ResidualHook(SamplingHook):
    _FIELDS = (*SamplingHook._FIELDS, "candidates")  # ``chunk``: how candidates are evaluated, not which

    def __init__(
        self,
        every: int,
        sets: Sequence[str] | None,
        until: int | None,
        start: int | None,
        candidates: int | None,
        chunk: int,
    ) -> None:
        super().__init__(every, ["interior"] if sets is None else sets, until, start)
        for label, v in (("candidates", candidates), ("chunk", chunk)):
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ConfigError(f"{type(self).__name__}({label}={v!r}): expected an int >= 1")
        self.candidates = candidates
        self.chunk = chunk


class RAR(_ResidualHook):
    """Residual-based adaptive refinement: add the candidates with the largest residual.

    Args:
        every: steps between refinements.
        add: points added to each set per refinement.
        candidates: candidate points drawn per refinement.
        sets: point sets to refine (default ``["interior"]``).
        until: last step at which to refine (None: throughout).
        start: first step at which to refine (default ``every``).
        chunk: candidate points per residual evaluation.
    """

    name = "rar"
    _FIELDS = (*_ResidualHook._FIELDS, "add")

    def __init__(
        self,
        every: int = 1000,
        add: int = 100,
        candidates: int = 10000,
        sets: Sequence[str] | None = None,
        until: int | None = None,
        start: int | None = None,
        chunk: int = 8192,
    ) -> None:
        super().__init__(every, sets, until, start, candidates, chunk)
        if not isinstance(add, int) or add < 1:
            raise ConfigError(f"RAR(add={add!r}): expected an int >= 1")
        if add > candidates:
            raise ConfigError(f"RAR(add={add}) exceeds candidates={candidates}")
        self.add = add

    def update(self, view: TrainingView, points: Mapping[str, PointSet], name: str) -> PointSet:
        cand = self.draw(name, self.candidates)
        r = residual_norms(view, points, name, cand, self.chunk)
        best = torch.topk(r, min(self.add, len(r))).indices
        new = cand.take(best)
        old = points[name]
        merged = PointSet(
            name, torch.cat([old.x, new.x]), {k: torch.cat([old.data[k], new.data[k]]) for k in old.data}
        )
        return self.remember(merged)


class RAD(_ResidualHook):
    """Residual-based adaptive distribution: redraw with ``p ~ r^k / mean(r^k) + c``.

    Args:
        every: steps between redraws.
        k: residual exponent (larger: more concentrated).
        c: uniform floor (larger: closer to uniform sampling).
        candidates: candidate points per redraw (default 10 times the set's size).
        sets: point sets to redraw (default ``["interior"]``); their sizes stay the same.
        until: last step at which to redraw (None: throughout).
        start: first step at which to redraw (default ``every``).
        chunk: candidate points per residual evaluation.
    """

    name = "rad"
    _FIELDS = (*_ResidualHook._FIELDS, "k", "c")

    def __init__(
        self,
        every: int = 1000,
        k: float = 1.0,
        c: float = 1.0,
        candidates: int | None = None,
        sets: Sequence[str] | None = None,
        until: int | None = None,
        start: int | None = None,
        chunk: int = 8192,
    ) -> None:
        super().__init__(every, sets, until, start, candidates, chunk)
        if not (k > 0 and c >= 0):
            raise ConfigError(f"RAD(k={k!r}, c={c!r}): expected k > 0 and c >= 0")
        self.k = float(k)
        self.c = float(c)

    def update(self, view: TrainingView, points: Mapping[str, PointSet], name: str) -> PointSet:
        n = len(points[name])
        cand = self.draw(name, max(self.candidates or 10 * n, n))
        r = residual_norms(view, points, name, cand, self.chunk)
        p = r**self.k
        p = p / p.mean().clamp_min(torch.finfo(p.dtype).tiny) + self.c
        idx = torch.multinomial(p, n, replacement=False, generator=self.generator)
        return self.remember(cand.take(idx))


def residual_norms(
    view: TrainingView, current: Mapping[str, PointSet], name: str, points: PointSet, chunk: int = 8192
) -> torch.Tensor:
    """``sqrt(sum_t r_t^2)`` over the pointwise residual terms of point set ``name``, at ``points``
    (``current``: the run's point sets).

    Pointwise residual terms are plain residual terms and terms that wrap one (causal or
    self-adaptive weighting); other terms of the set (a barrier of a bound, an energy) have
    no pointwise residual and do not take part. Evaluated chunk by chunk with
    ``create_graph=False``; the result is detached.
    """
    terms = [t for t in view.terms if t.point_set == name]
    residual = [t for t in terms if _pointwise(t)]
    if not residual:
        raise ConfigError(
            f"point set {name!r} has no pointwise residual terms to refine with (terms: "
            f"{[t.name for t in terms]})"
        )
    out = []
    with torch.enable_grad():
        for start in range(0, len(points), chunk):
            part = points.take(torch.arange(start, min(start + chunk, len(points)), device=points.x.device))
            ev = view.evaluation({**current, name: part}, create_graph=False, reference=current)
            r2 = sum(t.residual(ev).detach() ** 2 for t in residual)  # type: ignore[attr-defined]
            out.append(r2)  # type: ignore[arg-type]
    return torch.cat(out).sqrt()


def _pointwise(term: object) -> bool:
    """True for a residual term, or a term wrapping one (causal, self-adaptive weighting)."""
    while not isinstance(term, ResidualTerm):
        term = getattr(term, "inner", None)
        if term is None:
            return False
    return True
