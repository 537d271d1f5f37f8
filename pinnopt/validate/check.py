"""Check a declared problem against its exact solution before any training.

Every equation and condition must vanish on the exact solution. Each term is checked

1. **symbolically** (sympy exact solutions): the exact unknowns are substituted, the
   derivatives evaluated, the side ``x = value`` of a face substituted, and the result
   simplified; zero means the term holds exactly;
2. **numerically** otherwise (or when sympy cannot prove zero): the term's *compiled*
   residual, the one training minimizes, is evaluated on sample points of its region,
   with the exact solution's derivatives from autograd (sympy solutions, through
   :class:`~pinnopt.validate.exact_model.ExactModel`) or from finite differences
   (numpy callables and reference data, see :mod:`pinnopt.validate.finite_diff`).

A numeric residual is judged relative to the size of the term: ``max |r| <= rtol * scale``
where ``scale`` is the largest sum of the absolute values of the term's additive parts
(floored by the size of the unknowns). A wrong sign or a wrong boundary value gives a
relative residual of order one. With finite differences the estimated discretization
error is added to the allowance, point by point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
import torch
from sympy.core.function import AppliedUndef

from ..declare.problem import Problem, TermSpec
from ..errors import ValidationError
from ..symbolic import AutogradEngine, DerivativePlan, Env, Field, compile_expression
from . import finite_diff
from .exact_model import ExactModel

NUMERIC_RTOL = 1e-9
"""Relative tolerance of the compiled residual with autograd derivatives (float64)."""

FD_RTOL = 1e-6
"""Relative tolerance with finite-difference derivatives (on top of their error estimate)."""


@dataclass(frozen=True)
class TermCheck:
    """The check of one equation or condition.

    Attributes:
        name, kind, region: the term (as in ``problem.terms``).
        method: ``"symbolic"``, ``"autograd"``, ``"finite differences"`` or ``"skipped"``.
        passed: True, False, or None when skipped.
        max_abs: the largest absolute residual on the sample points (None if not evaluated).
        rel: ``max_abs / scale`` (see the module docstring).
        n_points: sample points used (0 for a symbolic proof).
        detail: the simplified symbolic residual when it is not zero, or why it was skipped.
    """

    name: str
    kind: str
    region: str
    method: str
    passed: bool | None
    max_abs: float | None = None
    rel: float | None = None
    n_points: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`check_problem`: one :class:`TermCheck` per term."""

    problem: str
    terms: tuple[TermCheck, ...]
    rtol: Mapping[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no term failed (skipped terms do not fail)."""
        return all(t.passed is not False for t in self.terms)

    @property
    def failures(self) -> list[TermCheck]:
        """The terms that do not vanish on the exact solution."""
        return [t for t in self.terms if t.passed is False]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "problem": self.problem,
            "passed": self.passed,
            "rtol": dict(self.rtol),
            "terms": [t.to_dict() for t in self.terms],
        }

    def __str__(self) -> str:
        head = f"check of {self.problem!r} against its exact solution"
        lines = [
            head,
            f"  {'term':<14} {'region':<10} {'method':<19} {'status':<7} {'max |r|':>10} {'rel':>10}",
        ]
        for t in self.terms:
            status = {True: "ok", False: "FAIL", None: "skip"}[t.passed]
            lines.append(
                f"  {t.name:<14} {t.region:<10} {t.method:<19} {status:<7} "
                f"{_num(t.max_abs):>10} {_num(t.rel):>10}"
            )
            if t.detail and t.method != "symbolic":
                lines.append(f"      {t.detail}")
        n_fail = len(self.failures)
        lines.append(
            "  all equations and conditions hold on the exact solution"
            if not n_fail
            else f"  {n_fail} of {len(self.terms)} terms do not vanish on the exact solution: "
            "a typo in the problem or in the exact solution"
        )
        return "\n".join(lines)


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2e}"


def check_problem(
    problem: Problem,
    *,
    n: int = 256,
    seed: int = 0,
    rtol: float | None = None,
    symbolic: bool = True,
) -> CheckReport:
    """Substitute the exact solution into every equation and condition of ``problem``.

    Args:
        problem: a problem with an exact solution (``Problem(exact=...)``).
        n: sample points per region for numeric checks (given points are all used).
        seed: seeds the sampling.
        rtol: relative tolerance of numeric checks (default: 1e-9 with autograd, 1e-6 plus
            the estimated discretization error with finite differences).
        symbolic: try sympy first (can be slow on very large expressions).
    Raises:
        ValidationError: the problem declares no exact solution.
    """
    exact = problem.exact_solution
    if exact is None:
        raise ValidationError(
            f"problem {problem.name!r} declares no exact solution, so it cannot be checked; "
            "give Problem(exact=...)"
        )
    checker = _Checker(problem, n=n, seed=seed, rtol=rtol, symbolic=symbolic and exact.symbolic is not None)
    rows = tuple(checker.check(spec) for spec in problem.terms)
    rt = {"autograd": rtol or NUMERIC_RTOL, "finite differences": rtol or FD_RTOL}
    return CheckReport(problem.name, rows, rt)


class _Checker:
    def __init__(self, problem: Problem, *, n: int, seed: int, rtol: float | None, symbolic: bool) -> None:
        self.problem = problem
        self.exact = problem.exact_solution
        self.n = n
        self.rtol = rtol
        self.symbolic = symbolic
        self.generator = torch.Generator().manual_seed(seed)
        self.missing = {p.name for p in problem.parameters if p.exact is None}
        self.scalars = {p.name: float(p.exact) for p in problem.parameters if p.exact is not None}
        self.model = ExactModel(problem).double() if self.exact.symbolic is not None else None
        interior = problem.domain.sample_interior(n, self.generator, torch.float64, torch.device("cpu"))
        values = self.exact(interior.numpy())
        self.unknown_scale = max((float(np.max(np.abs(v))) for v in values.values()), default=0.0)

    def check(self, spec: TermSpec) -> TermCheck:
        base = {"name": spec.name, "kind": spec.kind, "region": spec.region.name}
        if self.exact.reference is not None:
            return TermCheck(
                **base,
                method="skipped",
                passed=None,
                detail="the exact solution is interpolated reference data: too rough to verify equations",
            )
        unset = sorted(spec.expr.scalars & self.missing)
        if unset:
            return TermCheck(
                **base, method="skipped", passed=None, detail=f"parameters {unset} have no exact value"
            )
        if spec.mode == "paired":
            return self._check_paired(spec, base)
        detail = ""
        if self.symbolic:
            residual = self._symbolic_residual(spec)
            if residual == 0:
                return TermCheck(**base, method="symbolic", passed=True, detail="simplifies to 0")
            text = str(residual)
            detail = "residual " + (text if len(text) <= 100 else text[:97] + "...")
        pts = self._points(spec)
        r, scale, allowance = self._residual(spec, pts)
        method, tol = self._method()
        max_abs = float(np.max(np.abs(r)))
        rel = max_abs / scale
        passed = bool(np.all(np.abs(r) <= tol * scale + allowance))
        if passed and rel > tol:
            detail = f"within the estimated finite-difference error (up to {float(np.max(allowance)):.1e})"
        if not passed and not detail:
            worst = int(np.argmax(np.abs(r) - allowance))
            where = ", ".join(
                f"{c}={v:.4g}" for c, v in zip(self.problem.coordinates, pts[worst], strict=True)
            )
            detail = f"largest residual {r[worst]:.3e} at {where}"
        return TermCheck(
            **base, method=method, passed=passed, max_abs=max_abs, rel=rel, n_points=len(pts), detail=detail
        )

    def _check_paired(self, spec: TermSpec, base: dict[str, Any]) -> TermCheck:
        """A periodic (paired) condition: each expression equal at a point and its image."""
        region = spec.region
        coordinate = self.problem.coordinates[region.axis]  # type: ignore[attr-defined]
        lower, upper = region.side.value, region.upper  # type: ignore[attr-defined]
        if self.symbolic and self.exact.symbolic is not None:
            residuals = []
            for e in spec.exprs:
                r = self._substituted(e.expr)
                residuals.append(_simplified(r.subs(coordinate, lower) - r.subs(coordinate, upper)))
            if all(r == 0 for r in residuals):
                return TermCheck(**base, method="symbolic", passed=True, detail="simplifies to 0")
        pts = self._points(spec)
        half = len(pts) // 2
        wanted: set[Field] = set()
        for e in spec.exprs:
            wanted |= e.fields
        envs = self._envs(spec, pts, wanted)
        method, tol = self._method()
        rs, scales = [], [self.unknown_scale, 1e-300]
        for env in envs:
            vs = [e(env).detach().numpy() for e in spec.exprs]
            rs.append(np.concatenate([v[:half] - v[half:] for v in vs]))
            scales += [float(np.max(np.abs(v))) for v in vs]
        r, scale = rs[0], max(scales)
        allowance = np.abs(rs[0] - rs[1]) if len(rs) > 1 else np.zeros_like(r)
        max_abs = float(np.max(np.abs(r)))
        passed = bool(np.all(np.abs(r) <= tol * scale + allowance))
        detail = "" if passed else f"largest mismatch between paired points {max_abs:.3e}"
        return TermCheck(
            **base,
            method=method,
            passed=passed,
            max_abs=max_abs,
            rel=max_abs / scale,
            n_points=half,
            detail=detail,
        )

    # -- symbolic -------------------------------------------------------------------------------
    def _substituted(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with the exact solution and the exact parameter values substituted."""
        symbolic = self.exact.symbolic or {}
        subs: dict[sp.Basic, sp.Basic] = {
            f: symbolic[f.func.__name__] for f in expr.atoms(AppliedUndef) if f.func.__name__ in symbolic
        }
        subs.update({p.symbol: sp.sympify(p.exact) for p in self.problem.parameters if p.exact is not None})
        return expr.subs(subs).doit()

    def _symbolic_residual(self, spec: TermSpec) -> sp.Expr:
        r = self._substituted(spec.expr.expr)
        coordinate = getattr(spec.region, "coordinate", None)
        if coordinate is not None and hasattr(spec.region, "value"):
            r = r.subs(coordinate, sp.sympify(spec.region.value))
        return _simplified(r)

    # -- numeric --------------------------------------------------------------------------------
    def _points(self, spec: TermSpec) -> np.ndarray:
        fixed = spec.region.fixed_points
        if fixed is not None:
            return fixed.double().numpy()
        return spec.region.sample(self.n, self.generator, torch.float64, torch.device("cpu")).numpy()

    def _parts(self, spec: TermSpec) -> list[Any]:
        return [
            compile_expression(a, self.problem.context, what=f"part of {spec.name}", require_unknown=False)
            for a in sp.Add.make_args(spec.expr.expr)
        ]

    def _env(self, spec: TermSpec, pts: np.ndarray, fields: Mapping[Field, torch.Tensor]) -> Env:
        x = torch.as_tensor(pts, dtype=torch.float64)
        normals = spec.region.normals(x)
        data = {"normal": normals} if normals is not None else {}
        return Env(x.unbind(1), fields, self.scalars, data)

    def _scale(self, parts: list[Any], env: Env) -> float:
        total = sum(torch.abs(p(env)).detach() for p in parts)
        return max(
            float(torch.max(total)) if isinstance(total, torch.Tensor) else 0.0, self.unknown_scale, 1e-300
        )

    def _envs(self, spec: TermSpec, pts: np.ndarray, wanted: set[Field]) -> list[Env]:
        """Environments holding the exact fields at ``pts``: one from autograd through the
        exact solution, or two from finite differences with steps h and 2h (their gap
        estimates the differencing error)."""
        if self.model is not None:
            plan = DerivativePlan.build(wanted)
            x = torch.as_tensor(pts, dtype=torch.float64)
            fields = AutogradEngine().evaluate(self.model, x, plan, self.problem.unknowns, create_graph=False)
            return [self._env(spec, pts, {k: v.detach() for k, v in fields.items()})]
        bounds = self.problem.domain.bounds
        envs = []
        for factor in (1.0, 2.0):
            values = finite_diff.derivative(self.exact, pts, wanted, bounds, factor=factor)
            envs.append(self._env(spec, pts, {k: torch.as_tensor(v) for k, v in values.items()}))
        return envs

    def _method(self) -> tuple[str, float]:
        """The numeric method's name and relative tolerance."""
        if self.model is not None:
            return "autograd", self.rtol or NUMERIC_RTOL
        return "finite differences", self.rtol or FD_RTOL

    def _residual(self, spec: TermSpec, pts: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """The term's residual at ``pts``, its scale and the differencing allowance."""
        parts = self._parts(spec)
        wanted = set(spec.expr.fields)
        for p in parts:
            wanted |= p.fields
        envs = self._envs(spec, pts, wanted)
        rs = [spec.expr(env).detach().numpy() for env in envs]
        allowance = np.abs(rs[0] - rs[1]) if len(rs) > 1 else np.zeros_like(rs[0])
        return rs[0], self._scale(parts, envs[0]), allowance


def _simplified(r: sp.Expr) -> sp.Expr:
    """``r`` simplified (zero stays zero; sympy can fail on exotic expressions: the numeric check decides)."""
    if r == 0:
        return sp.S.Zero
    try:
        return sp.simplify(r)
    except Exception:
        return r
