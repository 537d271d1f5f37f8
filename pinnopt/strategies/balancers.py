"""The adaptive balancers: learning-rate annealing, GradNorm, NTK-trace weights, ReLoBRaLo.

Each is a frozen :class:`~pinnopt.strategies.balancing.Balancer` spec whose :meth:`update`
computes new multipliers on the device; :class:`~pinnopt.strategies.balancing.BalanceHook`
applies them (see :mod:`pinnopt.strategies.balancing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, final

import torch

from ..errors import ConfigError
from .balancing import TINY, BalanceHook, Balancer
from .base import Assembly, check_float, check_int, term_names

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping, Sequence

    from ..losses.hooks import TrainingView


def _check_alpha(owner: str, alpha: Any) -> None:
    check_float(owner, "alpha", alpha, 0.0, 1.0, closed=True)
    if alpha == 1.0:
        raise ConfigError(f"{owner}(alpha=1.0): the weights would never move; expected a number in [0, 1)")


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

    def update(self, hook: BalanceHook, view: TrainingView) -> torch.Tensor:
        assert hook.lam is not None and hook.base is not None
        ref = set(self._reference(hook.names, hook.kinds))
        _, grads = view.term_gradients(hook.positions(view))
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

    def initial_state(self, hook: BalanceHook, view: TrainingView) -> dict[str, Any]:
        assert hook.lam is not None
        zeros = torch.zeros_like(hook.lam)
        return {"L0": view.term_losses(hook.positions(view)), "m": zeros, "v": zeros.clone(), "t": 0}

    def update(self, hook: BalanceHook, view: TrainingView) -> torch.Tensor:
        assert hook.lam is not None and hook.base is not None
        losses, grads = view.term_gradients(hook.positions(view))
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

    def initial_state(self, hook: BalanceHook, view: TrainingView) -> dict[str, Any]:
        g = torch.Generator(device=view.device)
        g.manual_seed(self.seed)
        return {"generator": g.get_state()}

    def update(self, hook: BalanceHook, view: TrainingView) -> torch.Tensor:
        assert hook.lam is not None
        gen = torch.Generator(device=view.device)
        gen.set_state(hook.state["generator"].cpu())
        ev = view.evaluation(create_graph=True)
        traces = []
        for i in hook.positions(view):
            r = view.terms[i].residual(ev)  # type: ignore[attr-defined]
            total = torch.zeros((), dtype=r.dtype, device=r.device)
            for _ in range(self.probes):
                v = torch.randint(0, 2, r.shape, generator=gen, device=r.device).to(r.dtype) * 2 - 1
                g = view.gradient_of((v * r).sum(), retain_graph=True)
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

    def initial_state(self, hook: BalanceHook, view: TrainingView) -> dict[str, Any]:
        g = torch.Generator(device=view.device)
        g.manual_seed(self.seed)
        losses = view.term_losses(hook.positions(view))
        return {"L0": losses, "prev": losses.clone(), "generator": g.get_state()}

    def update(self, hook: BalanceHook, view: TrainingView) -> torch.Tensor:
        assert hook.lam is not None
        st = hook.state
        losses = view.term_losses(hook.positions(view)).to(hook.lam)
        n = len(losses)
        t = self.temperature
        bal_prev = n * torch.softmax(losses / (t * st["prev"].to(losses) + TINY), dim=0)
        bal_0 = n * torch.softmax(losses / (t * st["L0"].to(losses) + TINY), dim=0)
        gen = torch.Generator(device=view.device)
        gen.set_state(st["generator"].cpu())
        u = torch.rand((), generator=gen, device=view.device, dtype=losses.dtype)
        rho = (u < self.expected_rho).to(losses.dtype)
        lam = self.alpha * (rho * hook.lam + (1 - rho) * bal_0) + (1 - self.alpha) * bal_prev
        hook.state = {"L0": st["L0"], "prev": losses, "generator": gen.get_state()}
        return lam
