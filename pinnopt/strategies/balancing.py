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
from typing import TYPE_CHECKING, Any, ClassVar, final

import torch

from ..errors import ConfigError
from ..train.hooks import TrainingHook
from .base import Assembly, Strategy, broadcast, check_float, check_int, in_lbfgs, term_names

if TYPE_CHECKING:  # pragma: no cover
    from ..train.trainer import Trainer

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

    def initial_state(self, hook: BalanceHook, trainer: Trainer) -> dict[str, Any]:
        """The balancer's own state at the start of training (default: none)."""
        return {}

    @abc.abstractmethod
    def update(self, hook: BalanceHook, trainer: Trainer) -> torch.Tensor:
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

    def positions(self, trainer: Trainer) -> list[int]:
        """Positions of the balanced terms in the objective."""
        names = trainer.objective.names
        return [names.index(n) for n in self.names]

    def on_train_start(self, trainer: Trainer) -> None:
        w = trainer.objective.weights
        pos = self.positions(trainer)
        self.base = w[pos].detach().clone()
        self.lam = torch.ones_like(self.base)
        self.state = self.spec.initial_state(self, trainer)
        self._apply(trainer)
        self._record(trainer, trainer.step)

    def on_step(self, trainer: Trainer, step: int) -> None:
        if self.spec.static or step % self.spec.every != 0 or (in_lbfgs(trainer) and not self.spec.lbfgs):
            return
        lam = self.spec.update(self, trainer).detach()
        broadcast(trainer, lam)
        self.lam = lam
        self.updates += 1
        self._apply(trainer)
        self._record(trainer, step)
        trainer.objective_changed()

    def _apply(self, trainer: Trainer) -> None:
        assert self.lam is not None and self.base is not None
        obj = trainer.objective
        if self._pos is None or self._pos.device != obj.weights.device:
            self._pos = torch.tensor(self.positions(trainer), device=obj.weights.device)
        w = obj.weights.detach().clone()
        w[self._pos] = (self.base * self.lam).to(w)
        obj.weights = w

    def _record(self, trainer: Trainer, step: int) -> None:
        trainer.history.record_series("weights", step, trainer.objective.weights, trainer.objective.names)

    def state_dict(self) -> dict[str, Any]:
        return {"lam": self.lam, "base": self.base, "state": self.state, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lam, self.base = state["lam"], state["base"]
        self.state = dict(state["state"])
        self.updates = int(state["updates"])
        self._pos = None


# -- shared computations -------------------------------------------------------------------------
def term_losses(trainer: Trainer, positions: Sequence[int]) -> torch.Tensor:
    """The current unweighted losses of the terms at ``positions`` (full point sets, detached)."""
    obj = trainer.objective
    ev = obj.evaluation(trainer.model, trainer.points, create_graph=False)
    return torch.stack([obj.terms[i].loss(ev) for i in positions]).detach()


def term_gradients(trainer: Trainer, positions: Sequence[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Losses and flat parameter gradients of the terms at ``positions`` (one evaluation)."""
    obj = trainer.objective
    ev = obj.evaluation(trainer.model, trainer.points)
    params = trainer.parameters()
    losses, grads = [], []
    for k, i in enumerate(positions):
        loss = obj.terms[i].loss(ev)
        g = torch.autograd.grad(loss, params, retain_graph=k < len(positions) - 1, allow_unused=True)
        grads.append(
            torch.cat(
                [
                    (x if x is not None else torch.zeros_like(p)).reshape(-1)
                    for x, p in zip(g, params, strict=True)
                ]
            )
        )
        losses.append(loss.detach())
    return torch.stack(losses), grads


def _check_alpha(owner: str, alpha: Any) -> None:
    check_float(owner, "alpha", alpha, 0.0, 1.0, closed=True)
    if alpha == 1.0:
        raise ConfigError(f"{owner}(alpha=1.0): the weights would never move; expected a number in [0, 1)")


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

    def initial_state(self, hook: BalanceHook, trainer: Trainer) -> dict[str, Any]:
        assert hook.base is not None
        target = torch.tensor([w for _, w in self.weights], dtype=hook.base.dtype, device=hook.base.device)
        hook.lam = target / hook.base
        return {}

    def update(self, hook: BalanceHook, trainer: Trainer) -> torch.Tensor:
        assert hook.lam is not None
        return hook.lam

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "weights": dict(self.weights)}


@final
@dataclass(frozen=True)
class LRAnnealing(Balancer):
    """Learning-rate annealing by gradient statistics (Wang, Teng & Perdikaris 2021, Algorithm 1).

    For each balanced term that is not a reference term,
    ``lam_hat = max |grad L_ref| / mean |grad (base L_i)|`` over all parameters, where
    ``L_ref`` is the weighted sum of the reference terms (default: the problem's equations,
    which keep ``lam = 1``); then ``lam <- alpha lam + (1 - alpha) lam_hat``. The paper uses
    ``alpha = 0.9`` and updates every 10 steps.
    """

    kind: ClassVar[str] = "LRAnnealing"
    alpha: float = 0.9
    every: int = 10
    terms: tuple[str, ...] | None = None
    reference: tuple[str, ...] | None = None
    lbfgs: bool = False

    def __post_init__(self) -> None:
        _check_alpha(self.kind, self.alpha)
        object.__setattr__(self, "reference", term_names(self.kind, self.reference))
        self._check_common()

    def _check_terms(self, asm: Assembly, names: list[str]) -> None:
        ref = self._reference(names, asm.term_kinds())
        if not ref:
            raise ConfigError(f"LRAnnealing: no reference term among {names}; name one with reference=")
        if len(ref) == len(names):
            raise ConfigError(f"LRAnnealing: every balanced term {names} is a reference term")

    def _reference(self, names: Sequence[str], kinds: Mapping[str, str]) -> list[str]:
        if self.reference is not None:
            missing = [r for r in self.reference if r not in names]
            if missing:
                raise ConfigError(
                    f"LRAnnealing(reference={self.reference}): {missing} are not balanced terms"
                )
            return list(self.reference)
        return [n for n in names if kinds.get(n) == "equation"]

    def update(self, hook: BalanceHook, trainer: Trainer) -> torch.Tensor:
        assert hook.lam is not None and hook.base is not None
        ref = set(self._reference(hook.names, hook.kinds))
        _, grads = term_gradients(trainer, hook.positions(trainer))
        base = hook.base.to(grads[0])
        g_ref = sum(base[j] * grads[j] for j, n in enumerate(hook.names) if n in ref)
        top = g_ref.abs().max()  # type: ignore[union-attr]
        lam = hook.lam.clone()
        for j, n in enumerate(hook.names):
            if n in ref:
                continue
            hat = top / (base[j] * grads[j]).abs().mean().clamp_min(TINY)
            lam[j] = self.alpha * lam[j] + (1 - self.alpha) * hat.to(lam)
        return lam


@final
@dataclass(frozen=True)
class GradNorm(Balancer):
    """GradNorm (Chen, Badrinarayanan, Lee & Rabinovich 2018) on the balanced terms.

    With ``G_i = lam_i |grad (base L_i)|`` (all parameters), relative inverse training rates
    ``r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0))`` and the target ``mean(G) r_i^alpha``
    (held constant), the weights take an Adam step (``lr``) on ``sum_i |G_i - target_i|``,
    then are renormalized to sum to the number of balanced terms. ``alpha`` is the
    asymmetry (1.5 in the paper; 0 equalizes the gradient norms).
    """

    kind: ClassVar[str] = "GradNorm"
    alpha: float = 1.5
    lr: float = 0.05
    every: int = 10
    terms: tuple[str, ...] | None = None
    lbfgs: bool = False

    def __post_init__(self) -> None:
        check_float(self.kind, "alpha", self.alpha, 0.0, 10.0, closed=True)
        check_float(self.kind, "lr", self.lr, 0.0, 10.0)
        self._check_common()

    def initial_state(self, hook: BalanceHook, trainer: Trainer) -> dict[str, Any]:
        assert hook.lam is not None
        zeros = torch.zeros_like(hook.lam)
        return {"L0": term_losses(trainer, hook.positions(trainer)), "m": zeros, "v": zeros.clone(), "t": 0}

    def update(self, hook: BalanceHook, trainer: Trainer) -> torch.Tensor:
        assert hook.lam is not None and hook.base is not None
        losses, grads = term_gradients(trainer, hook.positions(trainer))
        lam = hook.lam
        gnorm = torch.stack([(b * g).norm() for b, g in zip(hook.base.to(grads[0]), grads, strict=True)]).to(
            lam
        )
        big_g = lam * gnorm
        rate = losses.to(lam) / hook.state["L0"].to(lam).clamp_min(TINY)
        r = rate / rate.mean().clamp_min(TINY)
        target = big_g.mean() * r**self.alpha
        grad = torch.sign(big_g - target) * gnorm
        st = hook.state
        t = int(st["t"]) + 1
        m = 0.9 * st["m"] + 0.1 * grad
        v = 0.999 * st["v"] + 0.001 * grad * grad
        step = self.lr * (m / (1 - 0.9**t)) / ((v / (1 - 0.999**t)).sqrt() + 1e-12)
        new = (lam - step).clamp_min(1e-6)
        hook.state = {"L0": st["L0"], "m": m, "v": v, "t": t}
        return new * (len(new) / new.sum())


@final
@dataclass(frozen=True)
class NTKWeights(Balancer):
    """Weights from the trace of each term's block of the neural tangent kernel (Wang, Yu & Perdikaris 2022).

    ``lam_hat_i = sum_j tr(K_jj) / tr(K_ii)`` with ``tr(K_ii)`` the mean over the term's points
    of ``|d r(x) / d theta|^2``, estimated without per-point gradients (Hutchinson):
    ``E_v |grad_theta (v . r)|^2 = sum_x |grad_theta r(x)|^2`` for random signs ``v``,
    averaged over ``probes`` draws; then ``lam <- alpha lam + (1 - alpha) lam_hat``. Needs
    pointwise residuals (the problem's equations and conditions have them).
    """

    kind: ClassVar[str] = "NTKWeights"
    alpha: float = 0.9
    every: int = 100
    probes: int = 4
    seed: int = 0
    terms: tuple[str, ...] | None = None
    lbfgs: bool = False

    def __post_init__(self) -> None:
        _check_alpha(self.kind, self.alpha)
        check_int(self.kind, "probes", self.probes)
        check_int(self.kind, "seed", self.seed, 0)
        self._check_common()

    def _check_terms(self, asm: Assembly, names: list[str]) -> None:
        bad = [n for n in names if not hasattr(asm.terms[asm.index(n)], "residual")]
        if bad:
            raise ConfigError(f"NTKWeights needs pointwise residuals; terms {bad} have none")

    def initial_state(self, hook: BalanceHook, trainer: Trainer) -> dict[str, Any]:
        g = torch.Generator(device=trainer.device)
        g.manual_seed(self.seed)
        return {"generator": g.get_state()}

    def update(self, hook: BalanceHook, trainer: Trainer) -> torch.Tensor:
        assert hook.lam is not None
        gen = torch.Generator(device=trainer.device)
        gen.set_state(hook.state["generator"].cpu())
        obj = trainer.objective
        ev = obj.evaluation(trainer.model, trainer.points)
        params = trainer.parameters()
        traces = []
        for i in hook.positions(trainer):
            r = obj.terms[i].residual(ev)  # type: ignore[attr-defined]
            total = torch.zeros((), dtype=r.dtype, device=r.device)
            for _ in range(self.probes):
                v = torch.randint(0, 2, r.shape, generator=gen, device=r.device).to(r.dtype) * 2 - 1
                g = torch.autograd.grad((v * r).sum(), params, retain_graph=True, allow_unused=True)
                total = total + sum((x * x).sum() for x in g if x is not None)
            traces.append(total / (self.probes * max(r.numel(), 1)))
        tr = torch.stack(traces).detach().to(hook.lam)
        hat = tr.sum() / tr.clamp_min(TINY)
        hook.state = {"generator": gen.get_state()}
        return self.alpha * hook.lam + (1 - self.alpha) * hat


@final
@dataclass(frozen=True)
class ReLoBRaLo(Balancer):
    """Relative loss balancing with random lookback (Bischof & Kraus 2021).

    With ``n`` balanced terms and losses ``L(t)`` at this update, ``L(t')`` at the previous one
    and ``L(0)`` at the start: ``bal(t, s) = n softmax(L(t) / (temperature L(s)))``, and
    ``lam <- alpha (rho lam + (1 - rho) bal(t, 0)) + (1 - alpha) bal(t, t')`` with
    ``rho ~ Bernoulli(expected_rho)`` (the random lookback to the start). Needs losses only
    (one evaluation per update, no gradients). The paper updates every step with
    ``alpha = 0.999``; with updates every 10 steps the defaults are ``alpha = expected_rho = 0.99``.
    """

    kind: ClassVar[str] = "ReLoBRaLo"
    alpha: float = 0.99
    expected_rho: float = 0.99
    temperature: float = 0.1
    every: int = 10
    seed: int = 0
    terms: tuple[str, ...] | None = None
    lbfgs: bool = False

    def __post_init__(self) -> None:
        _check_alpha(self.kind, self.alpha)
        check_float(self.kind, "expected_rho", self.expected_rho, 0.0, 1.0, closed=True)
        check_float(self.kind, "temperature", self.temperature, 0.0, math.inf)
        check_int(self.kind, "seed", self.seed, 0)
        self._check_common()

    def initial_state(self, hook: BalanceHook, trainer: Trainer) -> dict[str, Any]:
        g = torch.Generator(device=trainer.device)
        g.manual_seed(self.seed)
        losses = term_losses(trainer, hook.positions(trainer))
        return {"L0": losses, "prev": losses.clone(), "generator": g.get_state()}

    def update(self, hook: BalanceHook, trainer: Trainer) -> torch.Tensor:
        assert hook.lam is not None
        st = hook.state
        losses = term_losses(trainer, hook.positions(trainer)).to(hook.lam)
        n = len(losses)
        t = self.temperature
        bal_prev = n * torch.softmax(losses / (t * st["prev"].to(losses) + TINY), dim=0)
        bal_0 = n * torch.softmax(losses / (t * st["L0"].to(losses) + TINY), dim=0)
        gen = torch.Generator(device=trainer.device)
        gen.set_state(st["generator"].cpu())
        u = torch.rand((), generator=gen, device=trainer.device, dtype=losses.dtype)
        rho = (u < self.expected_rho).to(losses.dtype)
        lam = self.alpha * (rho * hook.lam + (1 - rho) * bal_0) + (1 - self.alpha) * bal_prev
        hook.state = {"L0": st["L0"], "prev": losses, "generator": gen.get_state()}
        return lam
