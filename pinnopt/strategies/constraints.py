"""Training hooks of the constraints: continuation of ``m``, multiplier updates, projection, monitoring.

Continuation and multiplier updates change the objective, so by default they act only
during the gradient phases before the first L-BFGS phase: L-BFGS keeps curvature pairs and
the last loss of one fixed objective, and a changed objective in the middle of it makes
its line search fail. (For parameter-only fits, :func:`~pinnopt.workflows.fit_parameters`
runs complete L-BFGS solves between updates instead.)
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..declare.bounds import Continuation
from ..errors import ConfigError, PinnoptWarning
from ..losses.barrier import BarrierTerm
from ..losses.constraint_terms import EqualityTerm
from ..losses.hooks import TrainingHook, TrainingUpdate, TrainingView

log = logging.getLogger("pinnopt.constraints")


def gradient_steps(view: TrainingView) -> int:
    """Steps of the phases that run before the first L-BFGS phase."""
    total = 0
    for phase in view.phases:
        if phase.quasi_newton:
            break
        total += int(phase.steps or 0)
    return total


def _terms(view: TrainingView, kind: type, names: Sequence[str]) -> dict[str, Any]:
    found = {t.name: t for t in view.terms if isinstance(t, kind)}
    missing = [n for n in names if n not in found]
    if missing:
        raise ConfigError(f"the objective has no {kind.__name__} named {missing}; it has {sorted(found)}")
    return {n: found[n] for n in names}


class BarrierContinuation(TrainingHook):
    """Raise barrier coefficients geometrically during training (a continuation in ``m``).

    Args:
        schedules: ``{term name: (Continuation, final m)}``.
    """

    name = "barrier_continuation"

    def __init__(self, schedules: Mapping[str, tuple[Continuation, float]]) -> None:
        self.schedules = dict(schedules)
        self.step = 0
        self._terms: dict[str, BarrierTerm] = {}
        self._steps: dict[str, int] = {}
        self._bound = False

    def on_train_start(self, view: TrainingView) -> None:
        self._bind(view)
        self._apply(self.step)

    def _bind(self, view: TrainingView) -> None:
        """Find the terms and the continuation lengths (at the start, and after a resume)."""
        self._terms = _terms(view, BarrierTerm, list(self.schedules))
        self._bound = True
        default = gradient_steps(view)
        for name, (cont, _) in self.schedules.items():
            self._steps[name] = cont.steps if cont.steps is not None else default
            if self._steps[name] <= 0:
                log.warning(
                    "%s: no gradient phase before L-BFGS, so the continuation has no steps; m stays at "
                    "its final value",
                    name,
                )

    def m_at(self, name: str, step: int) -> float:
        """The scheduled coefficient of term ``name`` after ``step`` steps."""
        cont, m_final = self.schedules[name]
        steps = self._steps.get(name, cont.steps or 0)
        return m_final if steps <= 0 else cont.value(m_final, step / steps)

    def _apply(self, step: int) -> None:
        for name, term in self._terms.items():
            term.set_m(self.m_at(name, step))

    def on_step(self, view: TrainingView) -> None:
        step = view.step
        if not self._bound:  # resumed from a checkpoint: m is restored with the objective
            self._bind(view)
        self.step = step
        for name, term in self._terms.items():
            cont, _ = self.schedules[name]
            steps = self._steps[name]
            if step <= steps and (step % cont.every == 0 or step == steps):
                term.set_m(self.m_at(name, step))

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state.get("step", 0))


class AugmentedLagrangian(TrainingHook):
    """Multiplier updates ``lam <- lam + rho * h`` of augmented-Lagrangian equality terms.

    Each term updates every ``equality.every`` steps up to ``equality.until`` (default: the
    end of the gradient phases before the first L-BFGS phase).
    """

    name = "augmented_lagrangian"

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.updates = 0
        self._terms: dict[str, EqualityTerm] = {}
        self._until: dict[str, int] = {}
        self._bound = False

    def on_train_start(self, view: TrainingView) -> None:
        self._bind(view)

    def _bind(self, view: TrainingView) -> None:
        """Find the terms and the last update steps (at the start, and after a resume)."""
        self._terms = _terms(view, EqualityTerm, self.names)
        self._bound = True
        default = gradient_steps(view)
        for name, term in self._terms.items():
            until = term.equality.until
            self._until[name] = default if until is None else int(until)
            if self._until[name] <= 0:
                log.warning(
                    "%s: no multiplier updates (no gradient phase before L-BFGS and no until=); the "
                    "augmented Lagrangian acts as a quadratic penalty. Add an Adam phase, or use "
                    "fit_parameters(rounds=...) for parameter-only problems",
                    name,
                )

    def on_step(self, view: TrainingView) -> None:
        step = view.step
        if not self._bound:  # resumed from a checkpoint: the multipliers are restored with the objective
            self._bind(view)
        scalars = view.scalars()
        for name, term in self._terms.items():
            if step <= self._until[name] and step % term.equality.every == 0:
                term.update(scalars)
                self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state.get("updates", 0))


class Projection(TrainingHook):
    """Clamp parameters into ``[lower, upper]`` after every step (projected gradient descent).

    Exact for gradient phases. L-BFGS does not know about the projection (its curvature
    pairs and line search assume an unconstrained step), so with L-BFGS prefer
    ``method="reparam"``.

    Args:
        limits: ``{parameter name: (lower or None, upper or None)}``.
    """

    name = "projection"

    def __init__(self, limits: Mapping[str, tuple[float | None, float | None]]) -> None:
        self.limits = dict(limits)

    def project(self, scalars: Mapping[str, torch.Tensor]) -> TrainingUpdate:
        """The parameters clamped into their limits."""
        return TrainingUpdate(
            scalars={name: scalars[name].clamp(min=lo, max=hi) for name, (lo, hi) in self.limits.items()}
        )

    def on_train_start(self, view: TrainingView) -> TrainingUpdate:
        return self.project(view.scalars())

    def on_step(self, view: TrainingView) -> TrainingUpdate:
        return self.project(view.scalars())


class BarrierMonitor(TrainingHook):
    """Warn (once per term) when a barrier dominates the loss or a log barrier sees infeasible points.

    Every ``every`` steps (default: the trainer's ``log_every``) it evaluates the objective
    once more and compares each barrier's weighted loss with the sum of the absolute
    weighted losses. A dominant barrier means the optimizer mostly pushes towards
    feasibility and barely sees the physics; the usual remedies are a continuation on ``m``
    (start small), a smaller weight or a feasible initial guess.

    Args:
        names: the barrier terms to watch.
        share: the warning threshold on a barrier's share of the loss.
        every: steps between checks.
    """

    name = "barrier_monitor"

    def __init__(self, names: Sequence[str], share: float = 0.5, every: int | None = None) -> None:
        self.names = list(names)
        self.share = float(share)
        self.every = every
        self.warned: set[str] = set()
        self.last_shares: dict[str, float] = {}
        self._terms: dict[str, BarrierTerm] = {}
        self._bound = False

    def on_train_start(self, view: TrainingView) -> None:
        self._terms = _terms(view, BarrierTerm, self.names)
        self._bound = True

    def on_step(self, view: TrainingView) -> None:
        step = view.step
        if not self._bound:  # resumed from a checkpoint
            self.on_train_start(view)
        every = self.every or view.log_every
        if step % every != 0 or len(self.warned) == len(self._terms):
            return
        self.check(view, step)

    def check(self, view: TrainingView, step: int) -> dict[str, float]:
        """Evaluate the shares now (synchronizes with the device); warn on new offenders."""
        ev = view.evaluation(create_graph=False)
        losses = torch.stack([t.loss(ev) for t in view.terms]).detach()
        weighted = (view.weights().to(losses) * losses).abs()
        total = float(weighted.sum())
        index = {t.name: i for i, t in enumerate(view.terms)}
        for name, term in self._terms.items():
            share = float(weighted[index[name]]) / total if total > 0 else 0.0
            self.last_shares[name] = share
            if name in self.warned:
                continue
            if term.kind == "log":
                low = float(term.slack_values(ev).detach().min())
                if low < 0:
                    self._warn(
                        name,
                        f"log barrier {name!r} saw an infeasible point at step {step} (slack {low:.3g}); "
                        "it continues there as a quadratic, but the log barrier needs strictly feasible "
                        "iterates: use method='barrier' (exponential) from infeasible starts",
                    )
                    continue
            if share > self.share:
                self._warn(
                    name,
                    f"barrier {name!r} is {100 * share:.0f}% of the loss at step {step} "
                    f"(m={term.m_value:g}): the optimizer mostly pushes towards feasibility (expected "
                    "right after an infeasible start; if it persists, start m lower with "
                    "po.Continuation, lower the bound's weight or start feasible)",
                )
        return dict(self.last_shares)

    def _warn(self, name: str, message: str) -> None:
        self.warned.add(name)
        log.warning(message)
        warnings.warn(message, PinnoptWarning, stacklevel=2)
