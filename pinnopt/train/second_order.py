"""Second-order phases: Levenberg-Marquardt / Gauss-Newton and dense self-scaled quasi-Newton.

* :class:`LevenbergMarquardt` (and :class:`GaussNewton`, its fixed-damping case) minimize the
  objective as a sum of squares, ``||R||^2``, with the Jacobian of the stacked weighted
  residuals (:mod:`pinnopt.train.levenberg`, :mod:`pinnopt.train.jacobian`); see
  docs/optimizers.md.
* :class:`SSBFGS` and :class:`SSBroyden` keep a dense inverse-Hessian approximation with
  self-scaled updates and L-BFGS's strong Wolfe line search (:mod:`pinnopt.train.quasi_newton`).

All use the full batch. Levenberg-Marquardt holds no curvature memory across steps (each
step builds ``J`` afresh), so adaptive collocation (``po.sample.RAR`` / ``RAD``) may change
the points between its steps; the quasi-Newton phases are ``quasi_newton`` phases like L-BFGS.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import torch

from ..errors import ConfigError
from .batching import Batching, FullBatch
from .levenberg import LMRunner
from .phases import Phase, check_tolerance
from .quasi_newton import QuasiNewtonRunner, SelfScaledOptimizer
from .runners import PhaseRunner, RunnerContext
from .stopping import Criterion


def _positive(owner: str, name: str, v: Any, *, integer: bool = False, allow_zero: bool = False) -> None:
    kind = int if integer else (int, float)
    ok = isinstance(v, kind) and not isinstance(v, bool) and (v >= 0 if allow_zero else v > 0)
    if not ok or (not integer and not math.isfinite(v)):
        raise ConfigError(
            f"{owner}({name}={v!r}): expected a {'positive int' if integer else 'positive finite number'}"
        )


def _full_batch(owner: str, batch: Any) -> None:
    if batch is not None and not (isinstance(batch, FullBatch) and batch.trivial):
        raise ConfigError(f"{owner}(batch={batch!r}): this phase always uses the full batch")


@dataclass(frozen=True, repr=False)
class LevenbergMarquardt(Phase):
    """Levenberg-Marquardt on the stacked weighted residuals; one step is one accepted update.

    Args:
        steps: accepted updates.
        damping: the initial damping ``lam`` (relative to ``diag(J^T J)`` with Marquardt's
            scaling; relative to its mean diagonal otherwise).
        rule: the damping rule (default ``"fixed"``, which reached a 400x lower loss than
            Nielsen's in 100 steps on the 2-D Poisson benchmark): ``"nielsen"`` (Nielsen 1999:
            after a step with gain ratio ``rho > 0``, ``lam *= max(1/3, 1 - (2 rho - 1)^3)``;
            after a rejected one ``lam *= nu, nu *= 2``) or ``"fixed"`` (``lam /= decrease`` after a success,
            ``lam *= increase`` after a failure).
        decrease / increase: the factors of the ``"fixed"`` rule (a ConfigError with
            ``"nielsen"`` when set away from their defaults: that rule never reads them).
        scaling: ``"marquardt"`` (``D = diag(J^T J)``) or ``"identity"`` (``D = I``).
        solver: ``"auto"`` (dense Cholesky unless ``J`` and its Gram matrix need more than
            ``max_jacobian_bytes``, then matrix-free; the dense system is ``J^T J``, params x
            params, or with fewer residuals than parameters the equivalent ``J J^T``, rows x
            rows), ``"cholesky"`` (always ``J^T J``), ``"dual"`` (always ``J J^T``: the same
            step, ``delta = -D^-1/2 Js^T (Js Js^T + lam I)^-1 R`` with ``Js = J D^-1/2``) or
            ``"cg"`` (matrix-free conjugate gradients on ``J^T J + lam I`` with Jacobian-vector
            products).
        max_jacobian_bytes: the memory limit of the dense path (``rows x params x 8`` bytes).
        tolerance_grad: stop when the largest component of the gradient of ``||R||^2`` is at most this.
        tolerance_step: stop when the largest parameter update is at most this.
        damping_min / damping_max: ``lam`` stays above ``damping_min``; above ``damping_max``
            the phase stops (no decrease found: the damping limit); ``damping_min <
            damping_max``.
        max_tries: damping increases tried within one step before it gives up.
        chunk: points per batched Jacobian evaluation (bounds memory).
        cg_iterations, cg_tolerance: the matrix-free solver's limits.

    Tolerances are finite numbers ``>= 0``. Options the chosen solver never reads are refused
    when set away from their defaults: ``cg_iterations`` / ``cg_tolerance`` with
    ``solver="cholesky"`` or ``"dual"``, ``chunk`` / ``max_jacobian_bytes`` with ``"cg"``.

    Every loss term must be a sum of squares (residuals, conditions, data misfits, penalty
    equalities); other terms raise a ConfigError naming the term.
    """

    steps: int = 500
    damping: float = 1e-1
    _: KW_ONLY
    rule: str = "fixed"
    decrease: float = 3.0
    increase: float = 2.0
    scaling: str = "marquardt"
    solver: str = "auto"
    max_jacobian_bytes: int = 2**31
    tolerance_grad: float = 1e-14
    tolerance_step: float = 1e-14
    damping_min: float = 1e-15
    damping_max: float = 1e12
    max_tries: int = 30
    chunk: int = 4096
    cg_iterations: int = 200
    cg_tolerance: float = 1e-6
    batch: Batching | None = None
    stop: Criterion | None = None
    adaptive: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._check()
        n = self.name
        for name in ("damping", "damping_min", "damping_max"):
            _positive(n, name, getattr(self, name))
        for name in ("tolerance_grad", "tolerance_step", "cg_tolerance"):
            check_tolerance(n, name, getattr(self, name))
        for name in ("max_jacobian_bytes", "max_tries", "chunk", "cg_iterations"):
            _positive(n, name, getattr(self, name), integer=True)
        if self.scaling not in ("marquardt", "identity"):
            raise ConfigError(f"{n}(scaling={self.scaling!r}): expected 'marquardt' or 'identity'")
        if self.rule not in ("nielsen", "fixed"):
            raise ConfigError(f"{n}(rule={self.rule!r}): expected 'nielsen' or 'fixed'")
        for name in ("decrease", "increase"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1 < v < math.inf:
                raise ConfigError(f"{n}({name}={v!r}): expected a finite number > 1")
        if self.solver not in ("auto", "cholesky", "dual", "cg"):
            raise ConfigError(f"{n}(solver={self.solver!r}): expected 'auto', 'cholesky', 'dual' or 'cg'")
        _full_batch(n, self.batch)
        self._refuse_ignored()
        if self.damping_min >= self.damping_max:
            raise ConfigError(
                f"{n}(damping_min={self.damping_min!r}, damping_max={self.damping_max!r}): expected "
                "damping_min < damping_max (the damping is kept above damping_min and the phase stops "
                "when it exceeds damping_max)"
            )

    def _ignored(self) -> dict[str, str]:
        """The options this phase never reads with its rule and solver, each with the reason."""
        out = {}
        if not self.adaptive:
            why = f"{self.name} keeps the damping fixed (LevenbergMarquardt has the damping rules)"
            out.update(dict.fromkeys(("rule", "decrease", "increase", "damping_min", "damping_max"), why))
        elif self.rule == "nielsen":
            out.update(
                dict.fromkeys(("decrease", "increase"), "rule='nielsen' never reads it (rule='fixed' does)")
            )
        if self.solver in ("cholesky", "dual"):
            why = (
                f"solver={self.solver!r} never reads it (the matrix-free solver does: solver='cg', "
                "or 'auto' on a large Jacobian)"
            )
            out.update(dict.fromkeys(("cg_iterations", "cg_tolerance"), why))
        elif self.solver == "cg":
            why = "solver='cg' never reads it (the matrix-free solver never forms the Jacobian)"
            out.update(dict.fromkeys(("max_jacobian_bytes", "chunk"), why))
        return out

    def _refuse_ignored(self) -> None:
        """A ConfigError for an option set away from its default that this phase would not read."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name, why in self._ignored().items():
            value = getattr(self, name)
            if value != defaults[name]:
                raise ConfigError(
                    f"{self.name}({name}={value!r}) would be ignored: {why}; "
                    f"leave it at its default ({defaults[name]!r})"
                )

    def runner(self, ctx: RunnerContext) -> PhaseRunner:
        """An :class:`~pinnopt.train.levenberg.LMRunner` for this phase."""
        return LMRunner(self, ctx)


@dataclass(frozen=True, repr=False)
class GaussNewton(LevenbergMarquardt):
    """Gauss-Newton: Levenberg-Marquardt with a fixed damping that takes every step.

    ``damping`` stays as given (a small regularization of ``J^T J``); a step that does not
    lower the loss is halved, up to ``max_tries`` times (then the phase stops with the
    damping limit). Start it near a minimum, after Adam or Levenberg-Marquardt. The damping
    rule's options (``rule``, ``decrease``, ``increase``, ``damping_min``, ``damping_max``)
    are never read here, and refused when set away from their defaults.
    """

    steps: int = 100
    damping: float = 1e-8
    adaptive: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class SSBFGS(Phase):
    """Dense self-scaled BFGS with the strong Wolfe line search; one step is one iteration.

    Tolerances and statuses as :class:`~pinnopt.train.phases.LBFGS`. ``max_parameters``
    refuses larger models (the inverse Hessian is ``n x n``).
    """

    quasi_newton: ClassVar[bool] = True
    method: ClassVar[str] = "bfgs"
    steps: int = 5000
    lr: float = 1.0
    tolerance_grad: float = 1e-11
    tolerance_change: float = 1e-13
    tolerance_step: float = 1e-14
    max_line_search: int = 25
    _: KW_ONLY
    max_parameters: int = 12000
    batch: Batching | None = None
    stop: Criterion | None = None

    def __post_init__(self) -> None:
        self._check()
        for name in ("tolerance_grad", "tolerance_change", "tolerance_step"):
            check_tolerance(self.name, name, getattr(self, name))
        _positive(self.name, "max_line_search", self.max_line_search, integer=True)
        _positive(self.name, "max_parameters", self.max_parameters, integer=True)
        _full_batch(self.name, self.batch)

    def runner(self, ctx: RunnerContext) -> PhaseRunner:
        """A :class:`~pinnopt.train.quasi_newton.QuasiNewtonRunner` for this phase."""
        return QuasiNewtonRunner(self, ctx)

    def make(self, params: Iterable[torch.Tensor], lr_scale: float = 1.0) -> SelfScaledOptimizer:
        """The dense self-scaled optimizer over ``params`` (learning rate times ``lr_scale``)."""
        return SelfScaledOptimizer(
            list(params),
            method=self.method,
            lr=self.lr * lr_scale,
            tolerance_grad=self.tolerance_grad,
            tolerance_change=self.tolerance_change,
            tolerance_step=self.tolerance_step,
            max_line_search=self.max_line_search,
        )


@dataclass(frozen=True, repr=False)
class SSBroyden(SSBFGS):
    """Dense self-scaled Broyden-class quasi-Newton (see :mod:`pinnopt.train.quasi_newton`)."""

    method: ClassVar[str] = "broyden"
