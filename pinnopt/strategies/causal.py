"""Causal training (Wang, Sankaran & Perdikaris 2022): earlier times must be resolved first.

The residual points of each equation are grouped into ``slabs`` time slabs by their time
coordinate; with ``L_i`` the mean squared residual in slab ``i``, the equation's loss becomes
``mean_i w_i L_i`` with ``w_i = exp(-eps sum_{j<i} L_j)`` (weights computed from the same
residuals, detached). Later slabs count only once the earlier ones are small. ``eps`` follows
a schedule: it moves to the next value of ``eps=(...)`` when, at an update (every ``every``
steps), the smallest weight exceeds ``threshold`` (all of time is resolved at this ``eps``);
the decision is made on the device, without host synchronization.

In gradient phases the weights follow the residuals at every evaluation. L-BFGS needs one
fixed objective, so during an L-BFGS phase the weights are frozen at their value when the
phase starts (``lbfgs=True``: refreshed, with the ``eps`` schedule, every ``every``
iterations, which resets the L-BFGS memory). The history records the weights of every slab
(series ``"causal"``, one per equation as ``"causal/<term>"`` when there are several) and
``eps`` (series ``"causal_eps"``) at each update.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar, final

import torch

from ..errors import ConfigError
from ..losses import Evaluation, Term
from ..losses.hooks import TrainingHook, TrainingUpdate, TrainingView
from ..symbolic import Field
from .base import Assembly, Strategy, check_float, check_int, term_names


class CausalTerm(Term):
    """A residual term whose loss is the causally weighted mean of its time-slab losses."""

    def __init__(self, inner: Term, axis: int, t0: float, t1: float, slabs: int, eps: torch.Tensor) -> None:
        self.inner = inner
        self.name = inner.name
        self.weight = inner.weight
        self.point_set = inner.point_set
        self.axis = axis
        self.t0 = float(t0)
        self.scale = slabs / (float(t1) - float(t0))
        self.slabs = slabs
        self.eps = eps
        self.frozen: torch.Tensor | None = None
        self.last_losses: torch.Tensor | None = None
        self.last_weights: torch.Tensor | None = None

    @property
    def fields(self) -> frozenset[Field]:
        return self.inner.fields

    def residual(self, ev: Evaluation) -> torch.Tensor:
        """The inner term's pointwise residual."""
        return self.inner.residual(ev)  # type: ignore[attr-defined]

    def slab_losses(self, ev: Evaluation) -> torch.Tensor:
        """Mean squared residual per time slab, shape ``(slabs,)`` (0 for an empty slab)."""
        r = self.residual(ev)
        t = ev.env(self.point_set).coords[self.axis].detach()  # type: ignore[arg-type]
        idx = ((t - self.t0) * self.scale).floor().long().clamp_(0, self.slabs - 1)
        sq = r * r
        sums = torch.zeros(self.slabs, dtype=sq.dtype, device=sq.device).index_add(0, idx, sq)
        counts = torch.zeros(self.slabs, dtype=sq.dtype, device=sq.device).index_add(
            0, idx, torch.ones_like(sq)
        )
        return sums / counts.clamp_min(1.0)

    def weights_for(self, losses: torch.Tensor) -> torch.Tensor:
        """``exp(-eps * sum_{j<i} L_j)`` for slab losses ``losses`` (detached)."""
        with torch.no_grad():
            before = torch.cumsum(losses, 0) - losses
            return torch.exp(-self.eps.to(losses) * before)

    def loss(self, ev: Evaluation) -> torch.Tensor:
        losses = self.slab_losses(ev)
        self.last_losses = losses.detach()
        self.last_weights = self.weights_for(self.last_losses)
        w = self.frozen if self.frozen is not None else self.last_weights
        return torch.mean(w * losses)

    def state_dict(self) -> dict[str, Any]:
        return {
            "eps": self.eps.detach().clone(),
            "frozen": None if self.frozen is None else self.frozen.clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        with torch.no_grad():
            self.eps.copy_(state["eps"])
        self.frozen = None if state["frozen"] is None else state["frozen"].to(self.eps.device)


@final
@dataclass(frozen=True)
class Causal(Strategy):
    """Causal training of time-dependent problems (``causal=po.balance.Causal(slabs=32)``).

    Args:
        slabs: number of time slabs.
        eps: the causality parameter, or an increasing schedule of values (default
            ``(0.01, 0.1, 1, 10, 100)`` as in the paper).
        threshold: move to the next ``eps`` when every slab weight exceeds this (0.99).
        every: steps between updates of the schedule (and of the history record).
        time: the time coordinate's name (default ``"t"``).
        terms: the terms to weight (default: the problem's equations).
        lbfgs: refresh the frozen weights during L-BFGS phases too (see the module doc).
    """

    kind: ClassVar[str] = "Causal"
    option: ClassVar[str] = "causal"
    slabs: int = 32
    eps: float | tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
    threshold: float = 0.99
    every: int = 100
    time: str | None = None
    terms: tuple[str, ...] | None = None
    lbfgs: bool = False

    def __post_init__(self) -> None:
        check_int(self.kind, "slabs", self.slabs)
        values = (self.eps,) if isinstance(self.eps, (int, float)) else tuple(self.eps)
        if not values or any(
            isinstance(e, bool) or not isinstance(e, (int, float)) or not 0 <= e < math.inf for e in values
        ):
            raise ConfigError(f"Causal(eps={self.eps!r}): expected a number >= 0 or an increasing tuple")
        if any(b < a for a, b in itertools.pairwise(values)):
            raise ConfigError(f"Causal(eps={self.eps!r}): the schedule must not decrease")
        object.__setattr__(self, "eps", float(values[0]) if len(values) == 1 else tuple(map(float, values)))
        check_float(self.kind, "threshold", self.threshold, 0.0, 1.0)
        check_int(self.kind, "every", self.every)
        if self.time is not None and not isinstance(self.time, str):
            object.__setattr__(self, "time", str(self.time))
        object.__setattr__(self, "terms", term_names(self.kind, self.terms))
        if not isinstance(self.lbfgs, bool):
            raise ConfigError(f"Causal(lbfgs={self.lbfgs!r}): expected True or False")

    @property
    def schedule(self) -> tuple[float, ...]:
        """The ``eps`` values in order."""
        return (self.eps,) if isinstance(self.eps, float) else tuple(self.eps)  # type: ignore[arg-type]

    def prepare(self, assembly: Assembly) -> TrainingHook:
        problem = assembly.problem
        coords = [str(c) for c in problem.coordinates]
        name = self.time or "t"
        if name not in coords:
            raise ConfigError(f"Causal: no time coordinate {name!r} among {coords}; name it with time=")
        axis = coords.index(name)
        lo, hi = problem.domain.bounds
        kinds = assembly.term_kinds()
        names = (
            list(self.terms) if self.terms is not None else [n for n, k in kinds.items() if k == "equation"]
        )
        eps = torch.tensor(self.schedule[0], dtype=assembly.dtype, device=assembly.device)
        for n in names:
            i = assembly.index(n)
            inner = assembly.terms[i]
            if not hasattr(inner, "residual") or inner.point_set is None:
                raise ConfigError(f"Causal: term {n!r} has no pointwise residual")
            if (
                getattr(inner, "point_weights", None) is not None
                or type(inner).__name__ == "SelfAdaptiveTerm"
            ):
                raise ConfigError(f"Causal: term {n!r} already has per-point weights")
            assembly.terms[i] = CausalTerm(inner, axis, lo[axis], hi[axis], self.slabs, eps)
        if not names:
            raise ConfigError("Causal: the problem has no equation to weight")
        return CausalHook(self, names, eps)


class CausalHook(TrainingHook):
    """Moves ``eps`` along its schedule, freezes the weights for L-BFGS, records them."""

    name = "causal"

    def __init__(self, spec: Causal, names: list[str], eps: torch.Tensor) -> None:
        self.spec = spec
        self.names = names
        self.eps = eps
        self.values = torch.tensor(spec.schedule, dtype=eps.dtype, device=eps.device)
        self.index = torch.zeros((), dtype=torch.long, device=eps.device)

    def _terms(self, view: TrainingView) -> list[CausalTerm]:
        found = {t.name: t for t in view.terms if isinstance(t, CausalTerm)}
        return [found[n] for n in self.names]

    def on_phase_start(self, view: TrainingView) -> None:
        terms = self._terms(view)
        if not view.in_quasi_newton:
            for term in terms:
                term.frozen = None
            return
        ev = view.evaluation(create_graph=False)
        for term in terms:
            term.frozen = term.weights_for(term.slab_losses(ev).detach())
            term.last_weights = term.frozen

    def on_step(self, view: TrainingView) -> TrainingUpdate | None:
        step = view.step
        if step % self.spec.every != 0:
            return None
        lbfgs = view.in_quasi_newton
        if lbfgs and not self.spec.lbfgs:
            return None
        terms = [t for t in self._terms(view) if t.last_weights is not None]
        if not terms:
            return None
        if len(self.values) > 1:
            low = torch.stack([t.last_weights.min() for t in terms]).min()  # type: ignore[union-attr]
            advance = (low > self.spec.threshold) & (self.index < len(self.values) - 1)
            self.index = self.index + advance.long()
            with torch.no_grad():
                self.eps.copy_(self.values[self.index])
        if lbfgs:
            for t in terms:
                assert t.last_losses is not None
                t.frozen = t.weights_for(t.last_losses)
        return TrainingUpdate(records=self._records(step, terms), objective_changed=lbfgs)

    def _records(self, step: int, terms: list[CausalTerm]) -> list[tuple[str, int, torch.Tensor, list[str]]]:
        labels = [f"w{i}" for i in range(self.spec.slabs)]
        out = []
        for t in terms:
            name = "causal" if len(self.names) == 1 else f"causal/{t.name}"
            w = t.frozen if t.frozen is not None else t.last_weights
            out.append((name, step, w, labels))
        out.append(("causal_eps", step, self.eps, ["eps"]))
        return out  # type: ignore[return-value]

    def state_dict(self) -> dict[str, Any]:
        return {"index": self.index.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.index = state["index"].to(self.eps.device)
