"""Loss balancing: strategies that set the weights of named loss terms during training.

Every balancer is a frozen spec (``balance=`` of :func:`pinnopt.solve`) driven by one hook,
:class:`BalanceHook`. The objective's weight of a balanced term is ``base * lam``: ``base``
is the declared weight, ``lam`` the balancer's multiplier (1 at the start). The hook
updates ``lam`` every ``every`` steps of the gradient phases, entirely on the device (no
host synchronization), writes ``objective.weights``, records them in the history (series
``"weights"``: ``result.history.series("weights")`` or ``as_arrays()["weights/<term>"]``) and
checkpoints ``lam`` and the balancer's own state. During L-BFGS the weights hold still
unless ``lbfgs=True`` (each update then resets L-BFGS, see :mod:`pinnopt.strategies.base`).

By default the balanced terms are the problem's equations and conditions; ``terms=``
chooses others (constraint terms too). Gradient-based balancers differentiate each term
with respect to all trainable parameters on the full point sets.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, final

import torch

from ..errors import ConfigError
from ..losses.hooks import TrainingHook, TrainingUpdate, TrainingView
from .base import Assembly, Strategy, check_int, term_names

TINY = 1e-30


class Balancer(Strategy):
    """Base of loss-balancing specs: which terms, how often, and the multiplier update."""

    option: ClassVar[str] = "balance"
    static: ClassVar[bool] = False
    """True when the weights never change after the start (no updates, no records)."""
    terms: tuple[str, ...] | None
    every: int
    lbfgs: bool

    def _check_common(self) -> None:
        object.__setattr__(self, "terms", term_names(self.kind, self.terms))
        check_int(self.kind, "every", self.every)
        if not isinstance(self.lbfgs, bool):
            raise ConfigError(f"{self.kind}(lbfgs={self.lbfgs!r}): expected True or False")

    def _balanced(self, asm: Assembly) -> list[str]:
        if self.terms is None:
            names = [t.name for t in asm.terms if t.name in asm.term_kinds()]
        else:
            names = list(self.terms)
            for n in names:
                asm.index(n)  # raises for an unknown name
        if not names:
            raise ConfigError(f"{self.kind}: no loss terms to balance")
        return names

    def prepare(self, assembly: Assembly) -> TrainingHook:
        names = self._balanced(assembly)
        self._check_terms(assembly, names)
        return BalanceHook(self, names, assembly.term_kinds())

    def _check_terms(self, asm: Assembly, names: list[str]) -> None:
        """Raise ConfigError when a balanced term lacks what the balancer needs."""

    def initial_state(self, hook: BalanceHook, view: TrainingView) -> dict[str, Any]:
        """The balancer's own state at the start of training (default: none)."""
        return {}

    @abc.abstractmethod
    def update(self, hook: BalanceHook, view: TrainingView) -> torch.Tensor:
        """The new multipliers ``lam`` of the balanced terms (a device tensor)."""


class BalanceHook(TrainingHook):
    """Applies a :class:`Balancer` during training (one instance per run)."""

    name = "balance"

    def __init__(self, spec: Balancer, names: Sequence[str], kinds: Mapping[str, str]) -> None:
        self.spec = spec
        self.names = list(names)
        self.kinds = dict(kinds)
        self.lam: torch.Tensor | None = None
        self.base: torch.Tensor | None = None
        self.state: dict[str, Any] = {}
        self.updates = 0
        self._pos: torch.Tensor | None = None

    def positions(self, view: TrainingView) -> list[int]:
        """Positions of the balanced terms in the objective."""
        return [view.names.index(n) for n in self.names]

    def on_train_start(self, view: TrainingView) -> TrainingUpdate:
        w = view.weights()
        pos = self.positions(view)
        self.base = w[pos].detach().clone()
        self.lam = torch.ones_like(self.base)
        self.state = self.spec.initial_state(self, view)
        return self._update(view, view.step, changed=False)

    def on_step(self, view: TrainingView) -> TrainingUpdate | None:
        step = view.step
        if self.spec.static or step % self.spec.every != 0 or (view.in_quasi_newton and not self.spec.lbfgs):
            return None
        lam = self.spec.update(self, view).detach()
        view.broadcast(lam)
        self.lam = lam
        self.updates += 1
        return self._update(view, step, changed=True)

    def _update(self, view: TrainingView, step: int, *, changed: bool) -> TrainingUpdate:
        """The new weight vector, recorded in the history."""
        assert self.lam is not None and self.base is not None
        w = view.weights()
        if self._pos is None or self._pos.device != w.device:
            self._pos = torch.tensor(self.positions(view), device=w.device)
        w[self._pos] = (self.base * self.lam).to(w)
        records = [("weights", step, w, view.names)]
        return TrainingUpdate(weights=w, records=records, objective_changed=changed)

    def state_dict(self) -> dict[str, Any]:
        return {"lam": self.lam, "base": self.base, "state": self.state, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lam, self.base = state["lam"], state["base"]
        self.state = dict(state["state"])
        self.updates = int(state["updates"])
        self._pos = None


# -- the balancers ---------------------------------------------------------------------------------
@final
@dataclass(frozen=True)
class FixedWeights(Balancer):
    """Fixed weights ``{term name: weight}`` replacing the declared ones (others keep theirs)."""

    kind: ClassVar[str] = "FixedWeights"
    static: ClassVar[bool] = True
    weights: Mapping[str, float] | tuple[tuple[str, float], ...] = ()
    terms: tuple[str, ...] | None = None
    every: int = 1
    lbfgs: bool = False

    def __post_init__(self) -> None:
        items = (
            tuple(dict(self.weights).items()) if isinstance(self.weights, Mapping) else tuple(self.weights)
        )
        if not items:
            raise ConfigError("FixedWeights(weights=...): expected {term name: weight}")
        for name, w in items:
            if not isinstance(name, str) or isinstance(w, bool) or not isinstance(w, (int, float)):
                raise ConfigError(f"FixedWeights: {name!r}: {w!r} is not a term name and a number")
            if not 0 < w < math.inf:
                raise ConfigError(f"FixedWeights: weight of {name!r} is {w!r}; expected a positive number")
        object.__setattr__(self, "weights", tuple((n, float(w)) for n, w in items))
        object.__setattr__(self, "terms", tuple(n for n, _ in items))
        self._check_common()

    def initial_state(self, hook: BalanceHook, view: TrainingView) -> dict[str, Any]:
        assert hook.base is not None
        target = torch.tensor([w for _, w in self.weights], dtype=hook.base.dtype, device=hook.base.device)
        hook.lam = target / hook.base
        return {}

    def update(self, hook: BalanceHook, view: TrainingView) -> torch.Tensor:
        assert hook.lam is not None
        return hook.lam

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "weights": dict(self.weights)}
