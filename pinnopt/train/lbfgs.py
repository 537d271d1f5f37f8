"""L-BFGS with a strong Wolfe line search, one iteration per call, reporting why it stops.

torch.optim.LBFGS hides its stopping decisions inside ``step`` and, when called one
iteration at a time, re-evaluates the loss at the start of every call. This
implementation keeps the loss and gradient of the accepted point, counts function
evaluations, and returns a :class:`LBFGSStatus` naming the tolerance that fired.
The algorithm follows Nocedal & Wright, Numerical Optimization (2006): the two-loop
recursion (Alg. 7.4) and the strong Wolfe line search with zoom (Alg. 3.5/3.6) using
safeguarded cubic interpolation.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

Closure = Callable[[], tuple[torch.Tensor, Any]]
"""Evaluates the loss with gradients populated; returns (loss, extra) where extra is kept."""


class LBFGSStatus(enum.Enum):
    """What one L-BFGS iteration concluded."""

    CONTINUE = "continue"
    GRADIENT_TOLERANCE = "gradient_tolerance"
    LOSS_CHANGE_TOLERANCE = "loss_change_tolerance"
    STEP_TOLERANCE = "step_tolerance"
    LINE_SEARCH_FAILED = "line_search_failed"
    ROUND_OFF = "round_off"
    LINE_SEARCH_NOT_FINITE = "line_search_not_finite"
    NOT_FINITE = "not_finite"


ROUND_OFF_ULPS = 1000.0
"""A line search whose smallest tried step predicts a decrease below this many units of
round-off of the loss (``eps * |f|``) has reached the loss's round-off."""


@dataclass
class _Point:
    t: float
    f: float
    g: torch.Tensor
    gtd: float
    extra: Any


class LBFGSOptimizer:
    """Limited-memory BFGS over a list of parameters.

    Args:
        params: the tensors to optimize (updated in place).
        lr: initial trial step along the quasi-Newton direction (1 is the natural step).
        history_size: number of correction pairs kept.
        tolerance_grad: stop when the largest gradient component is at most this.
        tolerance_change: stop when the relative loss decrease of an iteration,
            ``(f_old - f_new) / max(|f_old|, |f_new|, tiny)``, is at most this.
        tolerance_step: stop when the largest parameter update is at most this.
        max_line_search: function evaluations allowed per line search.
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        *,
        lr: float = 1.0,
        history_size: int = 50,
        tolerance_grad: float = 1e-11,
        tolerance_change: float = 1e-13,
        tolerance_step: float = 1e-14,
        max_line_search: int = 25,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = float(lr)
        self.history_size = int(history_size)
        self.tolerance_grad = float(tolerance_grad)
        self.tolerance_change = float(tolerance_change)
        self.tolerance_step = float(tolerance_step)
        self.max_line_search = int(max_line_search)
        self.s: list[torch.Tensor] = []
        self.y: list[torch.Tensor] = []
        self.rho: list[torch.Tensor] = []
        self.gamma = 1.0
        self.f: float | None = None
        self.g: torch.Tensor | None = None
        self.extra: Any = None
        self.n_iter = 0
        self.n_evals = 0
        self._trials: list[tuple[float, float]] = []
        self._gtd0 = 0.0

    # -- flat views ---------------------------------------------------------------------------
    def _flat_params(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat(
            [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in self.params]
        )

    def _set(self, flat: torch.Tensor) -> None:
        offset = 0
        with torch.no_grad():
            for p in self.params:
                n = p.numel()
                p.copy_(flat[offset : offset + n].view_as(p))
                offset += n

    def _evaluate(self, closure: Closure) -> tuple[float, torch.Tensor, Any]:
        for p in self.params:
            p.grad = None
        loss, extra = closure()
        self.n_evals += 1
        return float(loss), self._flat_grad(), extra

    # -- the iteration ------------------------------------------------------------------------
    def step(self, closure: Closure) -> LBFGSStatus:
        """Run one iteration: direction, line search, memory update, convergence tests."""
        if self.f is None or self.g is None:
            self.f, self.g, self.extra = self._evaluate(closure)
            if not math.isfinite(self.f):
                return LBFGSStatus.NOT_FINITE
        g = self.g
        if float(g.abs().max()) <= self.tolerance_grad:
            return LBFGSStatus.GRADIENT_TOLERANCE
        x0 = self._flat_params()
        d = self._direction(g)
        gtd = float(g.dot(d))
        if gtd >= 0 or not math.isfinite(gtd):  # not a descent direction: restart memory
            self._reset_memory()
            d = -g
            gtd = float(g.dot(d))
        t0 = self.lr if self.n_iter > 0 else min(1.0, 1.0 / float(g.abs().sum())) * self.lr
        self._trials = []
        try:
            accepted = self._line_search(closure, x0, d, t0, gtd)
            if accepted is None and self._has_memory():  # retry once from steepest descent
                self._reset_memory()
                d = -g
                gtd = float(g.dot(d))
                t0 = min(1.0, 1.0 / float(g.abs().sum())) * self.lr
                accepted = self._line_search(closure, x0, d, t0, gtd)
        except BaseException:
            self._set(x0)  # never leave the model at a trial point
            raise
        if accepted is None:
            self._set(x0)
            return self._failure(x0.dtype)
        self._set(x0 + accepted.t * d)
        s = accepted.t * d
        y = accepted.g - g
        ys = float(y.dot(s))
        if ys > 1e-10 * float(s.dot(s)) ** 0.5 * float(y.dot(y)) ** 0.5:
            self._update_memory(s, y, ys, g, accepted.t)
        f_old = self.f
        self.f, self.g, self.extra = accepted.f, accepted.g, accepted.extra
        self.n_iter += 1
        if not math.isfinite(self.f):
            return LBFGSStatus.NOT_FINITE
        if float(self.g.abs().max()) <= self.tolerance_grad:
            return LBFGSStatus.GRADIENT_TOLERANCE
        scale = max(abs(f_old), abs(self.f), 1e-300)
        if (f_old - self.f) / scale <= self.tolerance_change:
            return LBFGSStatus.LOSS_CHANGE_TOLERANCE
        if float(s.abs().max()) <= self.tolerance_step:
            return LBFGSStatus.STEP_TOLERANCE
        return LBFGSStatus.CONTINUE

    def _failure(self, dtype: torch.dtype) -> LBFGSStatus:
        """Why the line search found no decrease: NaN/Inf trial points, round-off, or neither.

        Round-off: the smallest finite trial step predicted a decrease below
        :data:`ROUND_OFF_ULPS` units of round-off of the loss, so no decrease can be seen in
        this precision (a converged run, not a failure). NaN/Inf: no finite trial point
        below the round-off scale, and some trial points were not finite.
        """
        assert self.f is not None
        floor = ROUND_OFF_ULPS * torch.finfo(dtype).eps * max(abs(self.f), torch.finfo(dtype).tiny)
        finite = [dec for dec, f in self._trials if math.isfinite(f)]
        if finite and min(finite) <= floor:
            return LBFGSStatus.ROUND_OFF
        if len(finite) < len(self._trials):
            return LBFGSStatus.LINE_SEARCH_NOT_FINITE
        return LBFGSStatus.LINE_SEARCH_FAILED

    def reset(self) -> None:
        """Forget the accepted point's loss and gradient and the curvature memory (the objective
        changed); the next :meth:`step` re-evaluates first. Counters are kept."""
        self.f = None
        self.g = None
        self.extra = None
        self._reset_memory()

    def _has_memory(self) -> bool:
        """True when the direction uses curvature information (not steepest descent)."""
        return bool(self.s)

    def _update_memory(self, s: torch.Tensor, y: torch.Tensor, ys: float, g: torch.Tensor, t: float) -> None:
        """Store the correction pair ``(s, y)`` (``ys = y.s > 0``; ``g`` the old gradient, ``t`` the step)."""
        if len(self.s) == self.history_size:
            self.s.pop(0)
            self.y.pop(0)
            self.rho.pop(0)
        self.s.append(s)
        self.y.append(y)
        self.rho.append(1.0 / torch.as_tensor(ys, dtype=s.dtype, device=s.device))
        self.gamma = ys / float(y.dot(y))

    def _reset_memory(self) -> None:
        self.s.clear()
        self.y.clear()
        self.rho.clear()
        self.gamma = 1.0

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        """Two-loop recursion: ``-H g`` with the stored correction pairs."""
        q = -g
        alphas = []
        for s, y, rho in zip(reversed(self.s), reversed(self.y), reversed(self.rho), strict=False):
            a = rho * s.dot(q)
            q = q - a * y
            alphas.append(a)
        r = q * self.gamma
        pairs = zip(self.s, self.y, self.rho, strict=True)
        for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):
            b = rho * y.dot(r)
            r = r + (a - b) * s
        return r

    # -- strong Wolfe line search ---------------------------------------------------------------
    def _phi(self, closure: Closure, x0: torch.Tensor, d: torch.Tensor, t: float) -> _Point:
        self._set(x0 + t * d)
        f, g, extra = self._evaluate(closure)
        self._trials.append((abs(t * self._gtd0), f))  # (predicted decrease, loss)
        return _Point(t, f, g, float(g.dot(d)), extra)

    def _line_search(
        self,
        closure: Closure,
        x0: torch.Tensor,
        d: torch.Tensor,
        t: float,
        gtd0: float,
        c1: float = 1e-4,
        c2: float = 0.9,
    ) -> _Point | None:
        """Return the accepted point, or None if no decrease was found."""
        f0 = self.f
        assert f0 is not None
        self._gtd0 = gtd0
        zero = _Point(0.0, f0, self.g, gtd0, self.extra)  # type: ignore[arg-type]
        prev = zero
        d_max = float(d.abs().max())
        for i in range(self.max_line_search):
            cur = self._phi(closure, x0, d, t)
            if not math.isfinite(cur.f):  # overshoot into NaN: shrink the step
                t = 0.5 * (prev.t + t)
                continue
            if cur.f > f0 + c1 * t * gtd0 or (i > 0 and cur.f >= prev.f):
                return self._zoom(
                    closure, x0, d, prev, cur, f0, gtd0, c1, c2, d_max, self.max_line_search - i - 1
                )
            if abs(cur.gtd) <= -c2 * gtd0:
                return cur
            if cur.gtd >= 0:
                return self._zoom(
                    closure, x0, d, cur, prev, f0, gtd0, c1, c2, d_max, self.max_line_search - i - 1
                )
            lo, hi = t + 0.01 * (t - prev.t), 10.0 * t
            t_next = _cubic_min(prev.t, prev.f, prev.gtd, cur.t, cur.f, cur.gtd, (lo, hi))
            prev, t = cur, t_next
        return prev if prev.t > 0 and prev.f < f0 else None

    def _zoom(
        self,
        closure: Closure,
        x0: torch.Tensor,
        d: torch.Tensor,
        lo: _Point,
        hi: _Point,
        f0: float,
        gtd0: float,
        c1: float,
        c2: float,
        d_max: float,
        budget: int,
    ) -> _Point | None:
        for _ in range(max(budget, 0)):
            if abs(hi.t - lo.t) * d_max <= 1e-16 * max(1.0, d_max):
                break
            a, b = sorted((lo.t, hi.t))
            t = _cubic_min(lo.t, lo.f, lo.gtd, hi.t, hi.f, hi.gtd, (a, b))
            # safeguard: stay away from the ends of the bracket
            margin = 0.1 * (b - a)
            if t - a < margin or b - t < margin:
                t = 0.5 * (a + b)
            cur = self._phi(closure, x0, d, t)
            if not math.isfinite(cur.f) or cur.f > f0 + c1 * t * gtd0 or cur.f >= lo.f:
                hi = cur
                continue
            if abs(cur.gtd) <= -c2 * gtd0:
                return cur
            if cur.gtd * (hi.t - lo.t) >= 0:
                hi = lo
            lo = cur
        return lo if lo.t > 0 and lo.f < f0 else None

    # -- checkpointing ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Memory and counters (tensors and numbers only: safe for ``weights_only`` loading)."""
        return {
            "s": [t.clone() for t in self.s],
            "y": [t.clone() for t in self.y],
            "gamma": self.gamma,
            "f": self.f,
            "g": None if self.g is None else self.g.clone(),
            "n_iter": self.n_iter,
            "n_evals": self.n_evals,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.s = [t.clone() for t in state["s"]]
        self.y = [t.clone() for t in state["y"]]
        self.rho = [1.0 / y.dot(s) for s, y in zip(self.s, self.y, strict=False)]
        self.gamma = float(state["gamma"])
        self.f = state["f"]
        self.g = None if state["g"] is None else state["g"].clone()
        self.extra = None
        self.n_iter = int(state["n_iter"])
        self.n_evals = int(state["n_evals"])


def _cubic_min(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float],
) -> float:
    """Minimizer of the cubic through two points with slopes, clamped to ``bounds``."""
    lo, hi = min(bounds), max(bounds)
    if x1 == x2:
        return 0.5 * (lo + hi)
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc >= 0:
        d2 = math.copysign(math.sqrt(disc), x2 - x1)
        denom = g2 - g1 + 2.0 * d2
        if denom != 0:
            t = x2 - (x2 - x1) * (g2 + d2 - d1) / denom
            if math.isfinite(t):
                return min(max(t, lo), hi)
    return 0.5 * (lo + hi)
