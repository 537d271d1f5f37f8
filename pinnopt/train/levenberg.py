"""Levenberg-Marquardt and Gauss-Newton on the stacked weighted residuals.

One step (:meth:`LMRunner.step`) at parameters ``theta`` with residual vector ``R`` and
Jacobian ``J`` (:mod:`pinnopt.train.jacobian`):

1. ``g = J^T R`` (half the gradient of ``F = ||R||^2``), ``A = J^T J``;
2. solve ``(A + lam D) delta = -g``: ``D = diag(A)`` (Marquardt's scaling, clamped below at
   ``1e-12 max diag(A)``; ``scaling="identity"`` uses ``D = I``), by Cholesky in float64
   (float32 runs too: ``A`` squares the condition number), with a least-squares solve as
   the fallback when the factorization fails;
3. gain ratio ``rho = (F(theta) - F(theta + delta)) / (-g.delta + lam delta.D.delta)``
   (actual over predicted decrease of the linear model);
4. the damping rule: ``rho > 0`` accepts the step, otherwise it is rejected and step 2 is
   repeated with the same ``J`` (no new Jacobian) and a larger ``lam``, up to ``max_tries``
   times within one trainer step. ``rule="fixed"`` (default): ``lam /= 3`` after a success,
   ``lam *= 2`` after a failure. ``rule="nielsen"`` (Nielsen 1999):
   ``lam *= max(1/3, 1 - (2 rho - 1)^3)``, ``nu = 2`` after a success, ``lam *= nu``,
   ``nu *= 2`` after a failure.

Matrix-free mode (``solver="cg"``, or ``"auto"`` when ``rows x params x 8`` bytes exceed
``max_jacobian_bytes``): ``D = I`` and ``(J^T J + lam I) delta = -g`` is solved by conjugate
gradients with one Jacobian-vector and one vector-Jacobian product per iteration.

Gauss-Newton is the fixed-damping case: ``lam`` never changes; a step that does not lower
the loss is halved (backtracking along the Gauss-Newton direction) up to ``max_tries`` times.

Robust (worst-case) terms enter ``R`` at the maximizer of their inner search
(:mod:`pinnopt.train.worst_case`); every evaluation of ``R``, trial steps included, runs the
search again, so ``F`` is always the objective's worst-case value, and ``J`` is taken with
the maximizer of the current point held fixed. The cached ``(R, losses, maximizers)`` of the
current point is checkpointed: recomputing it on resume would run one more search and move
the search's warm starts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from ..errors import ConfigError
from ..losses import PointSet
from .batching import BatchStream, FullBatch
from .jacobian import LeastSquares
from .runners import PhaseRunner, RunnerContext, StepResult
from .stop import StopReason
from .worst_case import Selection

if TYPE_CHECKING:  # pragma: no cover
    from .second_order import LevenbergMarquardt

log = logging.getLogger("pinnopt.train")


def conjugate_gradient(
    apply: Any, b: torch.Tensor, *, iterations: int, tolerance: float
) -> tuple[torch.Tensor, int]:
    """Solve ``apply(x) = b`` for a symmetric positive definite operator; ``(x, iterations)``."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = torch.dot(r, r)
    stop = tolerance**2 * rr
    for i in range(iterations):
        if rr <= stop:
            return x, i
        ap = apply(p)
        alpha = rr / torch.dot(p, ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = torch.dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x, iterations


class LMRunner(PhaseRunner):
    """Runs a :class:`~pinnopt.train.second_order.LevenbergMarquardt` (or Gauss-Newton) phase."""

    label = "Levenberg-Marquardt"

    def __init__(self, phase: LevenbergMarquardt, ctx: RunnerContext) -> None:
        super().__init__(ctx)
        self.phase = phase
        if ctx.objective is None:
            raise ConfigError(f"{phase.name} needs the trainer's objective (RunnerContext.objective)")
        if ctx.world > 1:
            raise ConfigError(
                f"{phase.name} does not run data-parallel (world size {ctx.world}); use one process"
            )
        self.ls = LeastSquares(ctx.objective, ctx.model, ctx.params, phase.name)
        self.lam: float | None = None
        self.nu = 2.0
        self.n_iter = 0
        self.matrix_free = False
        self.dual = False
        self._cache: tuple[torch.Tensor, torch.Tensor, dict[str, Selection]] | None = None
        """``(R, losses, robust selections)`` at the current parameters, for the points and weights below."""
        self._key: tuple[int, ...] = ()
        self._weights = torch.zeros(0)
        self._points: Mapping[str, PointSet] = {}
        """The trainer's point sets as last seen (hooks replace entries in place)."""

    def start(self, points: Mapping[str, PointSet], lr_scale: float, *, fresh: bool) -> None:
        self.stream = BatchStream(FullBatch(), (), self.ctx.generator)
        rows, n = self.ls.rows(points), self.ls.n_params
        small = min(rows, n)
        need = rows * n * 8 + small * small * 8
        solver = self.phase.solver
        if solver in ("cholesky", "dual") and need > self.phase.max_jacobian_bytes:
            raise ConfigError(
                f"{self.phase.name}(solver={solver!r}): J and its Gram matrix need about "
                f"{need / 2**20:.0f} MiB ({rows} residuals x {n} parameters), over max_jacobian_bytes="
                f"{self.phase.max_jacobian_bytes}; use solver='cg' (matrix-free) or 'auto'"
            )
        self.matrix_free = solver == "cg" or (solver == "auto" and need > self.phase.max_jacobian_bytes)
        self.dual = not self.matrix_free and (solver == "dual" or (solver == "auto" and rows < n))
        if fresh and self.ctx.log:
            how = (
                "matrix-free conjugate gradients"
                if self.matrix_free
                else "Cholesky of J J^T (fewer residuals than parameters)"
                if self.dual
                else "Cholesky of J^T J"
            )
            why = (
                f" (J and its Gram matrix would need {need / 2**20:.0f} MiB > max_jacobian_bytes)"
                if self.matrix_free and solver == "auto"
                else ""
            )
            log.info(
                "phase %d (%s): %d residuals x %d parameters, %s%s",
                self.ctx.index,
                self.phase.name,
                rows,
                n,
                how,
                why,
            )

    def total_steps(self, points: Mapping[str, PointSet]) -> int:
        return self.phase.steps

    def objective_changed(self) -> None:
        self._cache = None  # new weights or points: re-evaluate R (the damping stays)

    # -- one step -------------------------------------------------------------------------------
    def step(
        self, points: Mapping[str, PointSet], *, lr_scale: float, phase_step: int, phase_total: int
    ) -> tuple[StepResult | None, int, StopReason | None]:
        phase, ls = self.phase, self.ls
        evals = 0
        self._points = points
        key = self._point_key(points)
        weights = ls.objective.weights
        if self._cache is not None and (key != self._key or not torch.equal(weights, self._weights)):
            self._cache = None  # new points (adaptive sampling) or weights (balancing)
        if self._cache is None:
            self._cache = ls.evaluate(points)
            self._key, self._weights = key, weights.clone()
            evals += 1
        r, _, at = self._cache
        cost = float(torch.dot(r, r))
        if not math.isfinite(cost):
            return None, evals, StopReason.DIVERGED
        if self.matrix_free:
            jv, jtu = ls.operators(points, at)
            g = jtu(r)
            a = d = None
        else:
            jac = ls.jacobian(points, phase.chunk, at)
            j64 = jac.to(torch.float64)
            g = j64.T @ r.to(torch.float64)
            if self.dual:  # a = J D^-1/2 (J D^-1/2)^T, rows x rows
                diag = (j64 * j64).sum(0)
                d = self._damping_diagonal(diag, g)
                js = j64 / d.sqrt()
                a = js @ js.T
            else:
                a = j64.T @ j64
                d = self._damping_diagonal(a.diagonal(), g)
        if float(g.abs().max()) * 2 <= phase.tolerance_grad:
            return None, evals, StopReason.GRADIENT_TOLERANCE
        if self.lam is None:
            self.lam = phase.damping * self._scale(a, jv if self.matrix_free else None, g)
        theta = ls.flat()
        step_scale = 1.0
        delta = None
        for _ in range(phase.max_tries):
            lam = self.lam
            if delta is None or phase.adaptive:
                if self.matrix_free:
                    delta = self._solve_cg(jv, jtu, g, lam)
                    dd = torch.ones_like(delta)
                elif self.dual:
                    assert a is not None and d is not None
                    delta = self._solve_dual(a, js, d, r.to(torch.float64), lam)
                    dd = d
                else:
                    assert a is not None and d is not None
                    delta = self._solve(a, d, g, lam)
                    dd = d
            step = delta * step_scale
            predicted = float(-torch.dot(g, step) + lam * torch.dot(step, dd * step))
            if not torch.isfinite(step).all():
                predicted = -1.0
            rho, trial = -1.0, None
            if predicted > 0:
                self._set(theta + step.to(theta.dtype))
                trial = ls.evaluate(points)
                evals += 1
                new_cost = float(torch.dot(trial[0], trial[0]))
                rho = (cost - new_cost) / predicted if math.isfinite(new_cost) else -1.0
            if rho > 0:
                assert trial is not None
                self._cache = trial
                if phase.adaptive:
                    if phase.rule == "nielsen":
                        self.lam = lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                    else:
                        self.lam = lam / phase.decrease
                    self.lam = max(self.lam, phase.damping_min)
                    self.nu = 2.0
                self.n_iter += 1
                total = torch.dot(ls.objective.weights, trial[1])
                reason = None
                if float(step.abs().max()) <= phase.tolerance_step:
                    reason = StopReason.STEP_TOLERANCE
                return StepResult(self.lam, total, trial[1], True), evals, reason
            self._set(theta)
            if not phase.adaptive:  # Gauss-Newton: backtrack along the same direction
                step_scale *= 0.5
                continue
            if phase.rule == "nielsen":
                self.lam = lam * self.nu
                self.nu *= 2.0
            else:
                self.lam = lam * phase.increase
            if self.lam > phase.damping_max:
                return None, evals, StopReason.DAMPING_LIMIT
        return None, evals, StopReason.DAMPING_LIMIT

    def _scale(self, a: torch.Tensor | None, jv: Any, g: torch.Tensor) -> float:
        """What ``damping`` is relative to: 1 with Marquardt's scaling, else the mean of diag(J^T J)."""
        if a is not None:  # trace(J^T J) / params (a is J^T J or, in the dual form, J J^T)
            return 1.0 if self.phase.scaling == "marquardt" else float(a.diagonal().sum()) / g.numel()
        gen = torch.Generator(device=g.device).manual_seed(0)
        v = torch.randn(g.shape, generator=gen, dtype=g.dtype, device=g.device)
        jvv = jv(v)
        return max(float(torch.dot(jvv, jvv)) / g.numel(), 1e-300)  # E|Jv|^2 = trace(J^T J)

    def _solve(self, a: torch.Tensor, d: torch.Tensor, g: torch.Tensor, lam: float) -> torch.Tensor:
        m = a + torch.diag(lam * d)
        chol, info = torch.linalg.cholesky_ex(m)
        if int(info) == 0:
            return torch.cholesky_solve(-g[:, None], chol)[:, 0]
        return torch.linalg.lstsq(m, -g[:, None]).solution[:, 0]

    def _damping_diagonal(self, diag: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``D``: ``diag(J^T J)`` clamped below (Marquardt's scaling), or ones."""
        if self.phase.scaling == "marquardt":
            return diag.clamp_min(1e-12 * float(diag.max()) + 1e-300)
        return torch.ones_like(g)

    def _solve_dual(
        self, k: torch.Tensor, js: torch.Tensor, d: torch.Tensor, r: torch.Tensor, lam: float
    ) -> torch.Tensor:
        """The same step from the rows x rows system: with ``Js = J D^-1/2``,
        ``(J^T J + lam D) delta = -J^T r`` has ``delta = -D^-1/2 Js^T (Js Js^T + lam I)^-1 r``."""
        m = k + lam * torch.eye(k.shape[0], dtype=k.dtype, device=k.device)
        chol, info = torch.linalg.cholesky_ex(m)
        if int(info) == 0:
            u = torch.cholesky_solve(r[:, None], chol)[:, 0]
        else:
            u = torch.linalg.lstsq(m, r[:, None]).solution[:, 0]
        return -(js.T @ u) / d.sqrt()

    def _solve_cg(self, jv: Any, jtu: Any, g: torch.Tensor, lam: float) -> torch.Tensor:
        phase = self.phase

        def apply(v: torch.Tensor) -> torch.Tensor:
            return jtu(jv(v)) + lam * v

        x, _ = conjugate_gradient(apply, -g, iterations=phase.cg_iterations, tolerance=phase.cg_tolerance)
        return x

    def _set(self, flat: torch.Tensor) -> None:
        offset = 0
        with torch.no_grad():
            for p in self.ctx.params:
                n = p.numel()
                p.copy_(flat[offset : offset + n].view_as(p))
                offset += n

    def _point_key(self, points: Mapping[str, PointSet]) -> tuple[int, ...]:
        names = (*self.ls.objective.point_set_names, *self._robust_sets)
        return tuple(id(points[n]) for n in names)

    @property
    def _robust_sets(self) -> tuple[str, ...]:
        return tuple(n for wc in self.ls.robust.values() for n in wc.group.point_sets)

    # -- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        assert self.stream is not None
        opt: dict[str, Any] = {"lam": self.lam, "nu": self.nu, "n_iter": self.n_iter, "cache": None}
        if self._cache is not None and self._point_key(self._points) == self._key:
            r, losses, at = self._cache
            opt["cache"] = {
                "r": r.clone(),
                "losses": losses.clone(),
                "weights": self._weights.clone(),
                "at": {name: {"xi": xi.clone(), "c": c.clone()} for name, (xi, c) in at.items()},
            }
        return {"optimizer": opt, "schedule": {}, "stream": self.stream.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any], points: Mapping[str, PointSet]) -> None:
        assert self.stream is not None
        opt = state["optimizer"]
        self.lam = None if opt["lam"] is None else float(opt["lam"])
        self.nu = float(opt["nu"])
        self.n_iter = int(opt["n_iter"])
        self._cache = None
        cache = opt.get("cache")
        if cache is not None:  # the residuals of the restored parameters, as the run had them
            dev = self.ls.objective.weights.device
            at = {name: (v["xi"].to(dev), v["c"].to(dev)) for name, v in cache["at"].items()}
            self._cache = (cache["r"].to(dev), cache["losses"].to(dev), at)
            self._weights = cache["weights"].to(dev)
            self._points = points
            self._key = self._point_key(points)
            self.ls.at = at
        self.stream.load_state_dict(state["stream"], points)
