"""Self-adaptive per-point weights (SA-PINN, McClenny & Braga-Neto 2023): a min-max on the weights.

Each chosen term's loss becomes ``mean_j (lam_j r_j)^2`` with one trainable weight ``lam_j``
per collocation point. The network minimizes it; the weights *maximize* it by gradient
ascent (their own Adam, learning rate ``lr``), so points with persistent residuals gain
weight. The weights live in a term wrapper (:class:`SelfAdaptiveTerm`) with their Adam
state; they are part of the objective's checkpointed state. Their gradients come from the
trainer's own backward pass (they are leaves outside the optimizer), accumulated over
``every`` steps; the ascent runs in gradient phases only (during L-BFGS the weights hold
still, so L-BFGS sees one fixed objective).

Each wrapped term's point set gets a per-point index (``data["sa_index"]``) so that
mini-batches find their weights. Point sets must therefore stay fixed (no resampling hook
on them). By default the problem's equations and conditions are weighted, except those that
causal training weights already. The history records the mean and maximum of ``lam^2`` per term (series
``"sa_weights"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, final

import torch

from ..errors import ConfigError
from ..losses import Evaluation, PointSet, Term
from ..losses.hooks import TrainingHook, TrainingUpdate, TrainingView
from ..symbolic import Field
from .base import Assembly, Strategy, check_float, check_int, term_names
from .causal import CausalTerm

INDEX = "sa_index"
"""The per-point data key holding each point's row in its set."""


class SelfAdaptiveTerm(Term):
    """``mean_j (lam_j r_j)^2`` over a term's points, ``lam`` trainable by gradient ascent.

    Args:
        inner: a term with pointwise residuals (``residual(ev)``).
        n: the number of points of its set.
        init: the initial weight of every point.
        dtype, device: of the weights.
    """

    fixed_points = True
    """Per-point weights: the point set must not be replaced (sampling hooks refuse it)."""

    def __init__(self, inner: Term, n: int, init: float, dtype: torch.dtype, device: torch.device) -> None:
        self.inner = inner
        self.name = inner.name
        self.weight = inner.weight
        self.point_set = inner.point_set
        self.lam = torch.full((n,), float(init), dtype=dtype, device=device, requires_grad=True)
        self.m = torch.zeros(n, dtype=dtype, device=device)
        self.v = torch.zeros(n, dtype=dtype, device=device)
        self.t = 0

    @property
    def fields(self) -> frozenset[Field]:
        return self.inner.fields

    def residual(self, ev: Evaluation) -> torch.Tensor:
        """The inner term's pointwise residual."""
        return self.inner.residual(ev)  # type: ignore[attr-defined]

    def loss(self, ev: Evaluation) -> torch.Tensor:
        r = self.residual(ev)
        data = ev.env(self.point_set).data  # type: ignore[arg-type]
        if INDEX not in data:
            raise ConfigError(
                f"SelfAdaptive term {self.name!r}: its point set lost the per-point index {INDEX!r} "
                "(a hook replaced the points); self-adaptive weights need fixed point sets"
            )
        w = self.lam[data[INDEX]]
        return torch.mean((w * r) ** 2)

    def ascend(self, lr: float) -> None:
        """One Adam ascent step on the accumulated gradient, then clear it (no host sync)."""
        g = self.lam.grad
        if g is None:
            return
        self.t += 1
        with torch.no_grad():
            self.m.mul_(0.9).add_(g, alpha=0.1)
            self.v.mul_(0.999).addcmul_(g, g, value=0.001)
            mhat = self.m / (1 - 0.9**self.t)
            vhat = self.v / (1 - 0.999**self.t)
            self.lam.add_(lr * mhat / (vhat.sqrt() + 1e-8))
        self.lam.grad = None

    def state_dict(self) -> dict[str, Any]:
        grad = None if self.lam.grad is None else self.lam.grad.detach().clone()  # accumulated, not yet used
        return {
            "lam": self.lam.detach().clone(),
            "m": self.m.clone(),
            "v": self.v.clone(),
            "t": self.t,
            "grad": grad,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        with torch.no_grad():
            self.lam.copy_(state["lam"])
            self.m.copy_(state["m"])
            self.v.copy_(state["v"])
        grad = state.get("grad")
        self.lam.grad = None if grad is None else grad.to(self.lam).clone()
        self.t = int(state["t"])


@final
@dataclass(frozen=True)
class SelfAdaptive(Strategy):
    """Self-adaptive per-point weights (``balance=po.balance.SelfAdaptive()``).

    Args:
        terms: the terms to weight point by point (default: the problem's equations and
            conditions).
        lr: the learning rate of the weights' gradient ascent (Adam).
        init: the initial weight of every point.
        every: ascent steps every this many optimizer steps (gradients accumulate between).
    """

    kind: ClassVar[str] = "SelfAdaptive"
    option: ClassVar[str] = "balance"
    terms: tuple[str, ...] | None = None
    lr: float = 5e-3
    init: float = 1.0
    every: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", term_names(self.kind, self.terms))
        check_float(self.kind, "lr", self.lr, 0.0, 10.0)
        check_float(self.kind, "init", self.init, 0.0, 1e6)
        check_int(self.kind, "every", self.every)

    def prepare(self, assembly: Assembly) -> TrainingHook:
        kinds = assembly.term_kinds()
        if self.terms is not None:
            names = list(self.terms)
        else:  # the problem's terms, except those another strategy already weights point by point
            names = [t.name for t in assembly.terms if t.name in kinds and not isinstance(t, CausalTerm)]
        wrapped = []
        for name in names:
            i = assembly.index(name)
            inner = assembly.terms[i]
            if isinstance(inner, CausalTerm):
                raise ConfigError(f"SelfAdaptive: term {name!r} is weighted by causal training already")
            if not hasattr(inner, "residual") or inner.point_set is None:
                raise ConfigError(f"SelfAdaptive: term {name!r} has no pointwise residual")
            if getattr(inner, "point_weights", None) is not None:
                raise ConfigError(f"SelfAdaptive: term {name!r} already has per-point weights")
            ps = assembly.points[inner.point_set]
            if INDEX not in ps.data:
                idx = torch.arange(len(ps), device=ps.x.device)
                assembly.points[ps.name] = PointSet(ps.name, ps.x, {**ps.data, INDEX: idx})
            term = SelfAdaptiveTerm(inner, len(ps), self.init, assembly.dtype, assembly.device)
            assembly.terms[i] = term
            wrapped.append(name)
        if not wrapped:
            raise ConfigError("SelfAdaptive: no terms to weight")
        return SelfAdaptiveHook(self, wrapped)


class SelfAdaptiveHook(TrainingHook):
    """Runs the weights' gradient ascent of :class:`SelfAdaptive` and records their statistics."""

    name = "self_adaptive"

    def __init__(self, spec: SelfAdaptive, names: list[str]) -> None:
        self.spec = spec
        self.names = names

    def _terms(self, view: TrainingView) -> list[SelfAdaptiveTerm]:
        found = {t.name: t for t in view.terms if isinstance(t, SelfAdaptiveTerm)}
        return [found[n] for n in self.names]

    def on_train_start(self, view: TrainingView) -> TrainingUpdate:
        return self._record(view, view.step)

    def on_phase_start(self, view: TrainingView) -> None:
        for term in self._terms(view):
            term.lam.grad = None  # nothing carried over from an earlier phase

    def on_step(self, view: TrainingView) -> TrainingUpdate | None:
        step = view.step
        terms = self._terms(view)
        if view.in_quasi_newton:
            for term in terms:
                term.lam.grad = None
            return None
        if step % self.spec.every != 0:
            return None
        for term in terms:
            g = term.lam.grad
            if g is not None:
                view.all_reduce(g)
            term.ascend(self.spec.lr)
        if step % max(view.log_every, self.spec.every) == 0:
            return self._record(view, step)
        return None

    def _record(self, view: TrainingView, step: int) -> TrainingUpdate:
        stats = []
        labels = []
        for term in self._terms(view):
            w2 = term.lam.detach() ** 2
            stats += [w2.mean(), w2.max()]
            labels += [f"{term.name}:mean", f"{term.name}:max"]
        return TrainingUpdate(records=[("sa_weights", step, torch.stack(stats), labels)])
