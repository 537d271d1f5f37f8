"""Check a declared problem against its exact solution before any training.

Every equation and condition must vanish on the exact solution. Each term is checked

1. **symbolically** (sympy exact solutions): the exact unknowns, exact parameter values,
   nominal values of uncertain coefficients and the outward normal of a face are
   substituted, the derivatives evaluated, the side ``x = value`` substituted, and the
   result simplified; zero means the term holds exactly;
2. **numerically** otherwise (or when sympy cannot prove zero): the solver's own term (from
   :func:`pinnopt.compile.assemble.build_objective`, so data terms subtract the observations,
   Neumann and Robin conditions read the points' normals, and uncertain coefficients take
   their nominal values) is evaluated on points its region draws as for training, with the
   exact solution's derivatives from autograd (sympy solutions, through
   :class:`~pinnopt.validate.exact_model.ExactModel`) or from finite differences (numpy
   callables, see :mod:`pinnopt.validate.finite_diff`).

A numeric residual is judged relative to the size of the term: ``max |r| <= rtol * scale``
where ``scale`` is the largest sum of the absolute values of the term's additive parts
(for data terms: the largest observed value), floored by the size of the unknowns. A wrong
sign or a wrong boundary value gives a relative residual of order one. With finite
differences the estimated discretization error is added to the allowance, point by point.
Data terms allow :data:`DATA_RTOL` for measurement noise.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import sympy as sp
import torch
from sympy.core.function import AppliedUndef
from torch import nn

from ..compile.assemble import build_objective
from ..declare.items import TermSpec
from ..declare.problem import Problem
from ..errors import ValidationError
from ..losses import Evaluation, PairedTerm, PointSet, ResidualTerm, Term
from ..robust import AtValues, ScalarView
from ..symbolic import AutogradEngine, DerivativeEngine, DerivativePlan, Field, compile_expression
from ..symbolic.normals import Normal
from . import finite_diff
from .check_report import CheckReport, TermCheck
from .exact_model import ExactModel

NUMERIC_RTOL = 1e-9
"""Relative tolerance of the compiled residual with autograd derivatives (float64)."""

FD_RTOL = 1e-6
"""Relative tolerance with finite-difference derivatives (on top of their error estimate)."""

DATA_RTOL = 0.05
"""Relative tolerance of data terms, against the largest observed value: observations carry
measurement noise (a wrong value, a wrong unit or a swapped column is off by much more)."""


def check_problem(
    problem: Problem,
    *,
    n: int = 256,
    seed: int = 0,
    rtol: float | Mapping[str, float] | None = None,
    data_rtol: float = DATA_RTOL,
    symbolic: bool = True,
    objectives: Collection[str] = (),
) -> CheckReport:
    """Substitute the exact solution into every equation and condition of ``problem``.

    Args:
        problem: a problem with an exact solution (``Problem(exact=...)``).
        n: sample points per region for numeric checks (given points are all used).
        seed: seeds the sampling.
        rtol: relative tolerance of numeric checks (default: 1e-9 with autograd, 1e-6 plus
            the estimated discretization error with finite differences), or ``{term: rtol}``
            for some terms (a numeric reference known to be less accurate somewhere).
            the estimated discretization error with finite differences).
        data_rtol: relative tolerance of data terms (observations minus the exact solution),
            against the largest observed value: the noise the observations may carry.
        symbolic: try sympy first (can be slow on very large expressions).
        objectives: names of terms that are design objectives, not identities (a target the
            solution should approach, such as the library's ``OBJECTIVE_TERMS``): reported as
            skipped.
    Raises:
        ValidationError: the problem declares no exact solution, or ``objectives`` names a term
            the problem does not have.

    Each term is evaluated as the solver's objective evaluates it (the terms of
    :func:`pinnopt.compile.assemble.build_objective`, on points drawn by the region as for training):
    data terms subtract the observations, Neumann and Robin conditions read the points'
    outward normals, and uncertain coefficients take their nominal values.
    """
    exact = problem.exact_solution
    if exact is None:
        raise ValidationError(
            f"problem {problem.name!r} declares no exact solution, so it cannot be checked; "
            "give Problem(exact=...)"
        )
    names = [spec.name for spec in problem.terms]
    per_term = dict(rtol) if isinstance(rtol, Mapping) else {}
    for what, given in (("objectives", objectives), ("rtol", per_term)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValidationError(
                f"{what} names {unknown}, which are not terms of problem {problem.name!r}; its terms "
                f"are {names}"
            )
    default = None if isinstance(rtol, Mapping) else rtol
    checker = _Checker(
        problem,
        n=n,
        seed=seed,
        rtol=default,
        per_term=per_term,
        data_rtol=data_rtol,
        symbolic=symbolic and exact.symbolic is not None,
        objectives=objectives,
    )
    rows = tuple(checker.check(spec) for spec in problem.terms)
    rt = {"autograd": default or NUMERIC_RTOL, "finite differences": default or FD_RTOL, "data": data_rtol}
    rt.update({f"term {k}": float(v) for k, v in per_term.items()})
    return CheckReport(problem.name, rows, rt, reference=exact.kind)


class _ExactScalars(nn.Module):
    """The stand-in model of a numeric exact solution: it only holds the parameters' exact
    values (the finite-difference engine evaluates the solution itself)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__()
        self._scalars = {p.name: float(p.exact) for p in problem.parameters if p.exact is not None}

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - never called
        raise ValidationError("the exact solution is numeric: its values come from finite differences")

    def scalars(self) -> dict[str, torch.Tensor | float]:
        """Exact values of the problem's trainable parameters."""
        return dict(self._scalars)


def _unwrap(term: Term) -> tuple[Term, dict[str, float]]:
    """The term under an :class:`AtValues` wrapper and the scalars it pins (nominal values)."""
    if isinstance(term, AtValues):
        return term.term, dict(term.values)
    return term, {}


class _Checker:
    """Checks terms one by one, evaluating the terms the solver builds (:func:`build_objective`)."""

    def __init__(
        self,
        problem: Problem,
        *,
        n: int,
        seed: int,
        rtol: float | None,
        per_term: Mapping[str, float],
        data_rtol: float,
        symbolic: bool,
        objectives: Collection[str],
    ) -> None:
        self.problem = problem
        self.exact = problem.exact_solution
        self.n = n
        self.rtol = rtol
        self.per_term = per_term
        self.data_rtol = data_rtol
        self.symbolic = symbolic
        self.objectives = set(objectives)
        self.generator = torch.Generator().manual_seed(seed)
        self.missing = {p.name for p in problem.parameters if p.exact is None}
        # exact parameter values and the uncertain coefficients' nominal values: those the exact
        # solution uses and the solver's objective reads outside robust groups
        self.values: dict[sp.Basic, sp.Basic] = {
            p.symbol: sp.sympify(p.exact) for p in problem.parameters if p.exact is not None
        }
        for u in problem.uncertain:
            self.values.update({s: sp.Float(v) for s, v in zip(u.symbols, u.nominal, strict=True)})
        # the solver's own terms: data minus observations, normals from the points, uncertain
        # coefficients pinned to their nominal values
        self.terms = {t.name: t for t in build_objective(problem).terms}
        self.model: nn.Module
        self.engines: list[DerivativeEngine]
        if self.exact.symbolic is not None:
            self.model, self.engines = ExactModel(problem).double(), [AutogradEngine()]
        else:
            bounds = problem.domain.bounds
            self.model = _ExactScalars(problem)
            self.engines = [finite_diff.FiniteDifferenceEngine(self.exact, bounds, factor=f) for f in (1, 2)]
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
        if spec.name in self.objectives:
            return TermCheck(
                **base, method="skipped", passed=None, detail="a design objective: not required to vanish"
            )
        unset = sorted(spec.expr.scalars & self.missing)
        if unset:
            return TermCheck(
                **base, method="skipped", passed=None, detail=f"parameters {unset} have no exact value"
            )
        term = self.terms[spec.name]
        if spec.mode == "paired":
            return self._check_paired(spec, term, base)
        detail = ""
        if self.symbolic and spec.target is None:  # observations are numbers: no symbolic form
            residual = self._symbolic_residual(spec)
            if residual == 0:
                return TermCheck(**base, method="symbolic", passed=True, detail="simplifies to 0")
            if residual is not None:
                text = str(residual)
                detail = "residual " + (text if len(text) <= 100 else text[:97] + "...")
        pts, r, scale, allowance = self._residual(spec, term)
        method, tol = self._method(spec.name)
        data = spec.target is not None
        if data:
            tol = max(tol, self.data_rtol)
        max_abs = float(np.max(np.abs(r)))
        rel = max_abs / scale
        passed = bool(np.all(np.abs(r) <= tol * scale + allowance))
        if passed and detail.startswith("residual "):
            detail = ""  # sympy could not simplify it to zero, the numbers show it is
        if passed and data and rel > self._method(spec.name)[1]:
            rms = float(np.sqrt(np.mean(r * r)))
            detail = f"observations off by up to {max_abs:.1e} (rms {rms:.1e}): noise within {tol:g}"
        elif passed and rel > tol:
            detail = f"within the estimated finite-difference error (up to {float(np.max(allowance)):.1e})"
        if not passed:
            worst = int(np.argmax(np.abs(r) - allowance))
            where = ", ".join(
                f"{c}={v:.4g}" for c, v in zip(self.problem.coordinates, pts[worst], strict=True)
            )
            if data:
                detail = (
                    f"exact value minus observation is {r[worst]:.3e} at {where}: over {tol:g} of the "
                    "largest observed value"
                )
            else:
                detail = detail or f"largest residual {r[worst]:.3e} at {where}"
        return TermCheck(
            **base, method=method, passed=passed, max_abs=max_abs, rel=rel, n_points=len(pts), detail=detail
        )

    def _check_paired(self, spec: TermSpec, term: Term, base: dict[str, Any]) -> TermCheck:
        """A periodic (paired) condition: each expression equal at a point and its image."""
        region = spec.region
        coordinate = self.problem.coordinates[region.axis]  # type: ignore[attr-defined]
        lower = _exact_number(region.side.value)  # type: ignore[attr-defined]
        upper = _exact_number(region.upper)  # type: ignore[attr-defined]
        if self.symbolic:
            residuals = []
            for e in spec.exprs:
                r = self._substituted(e.expr)
                residuals.append(_simplified(r.subs(coordinate, lower) - r.subs(coordinate, upper)))
            if all(r == 0 for r in residuals):
                return TermCheck(**base, method="symbolic", passed=True, detail="simplifies to 0")
        inner, pinned = _unwrap(term)
        if not isinstance(inner, PairedTerm):
            raise ValidationError(f"term {spec.name!r} is periodic but the objective built {inner!r}")
        wanted: set[Field] = set(inner.fields)
        evs, pts = self._evaluations(spec, wanted, pinned)
        method, tol = self._method(spec.name)
        half = len(pts) // 2
        rs, scales = [], [self.unknown_scale, 1e-300]
        for ev in evs:
            rs.append(np.concatenate([d.detach().numpy() for d in inner.differences(ev)]))
            env = ev.env(spec.region.name)
            scales += [float(torch.max(torch.abs(e(env).detach()))) for e in spec.exprs]
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
        """``expr`` with the exact solution, exact parameters and nominal coefficients substituted."""
        symbolic = self.exact.symbolic or {}
        subs: dict[sp.Basic, sp.Basic] = {
            f: symbolic[f.func.__name__] for f in expr.atoms(AppliedUndef) if f.func.__name__ in symbolic
        }
        subs.update(self.values)
        return expr.subs(subs).doit()

    def _symbolic_residual(self, spec: TermSpec) -> sp.Expr | None:
        """The simplified residual on the exact solution, or None when it has no symbolic form
        (normals that vary along the region)."""
        expr = spec.expr.expr
        if expr.atoms(Normal):
            normals = self._constant_normals(spec)
            if normals is None:
                return None
            expr = expr.subs(normals)  # before the side's coordinate value: Normal(0) means nothing
        r = self._substituted(expr)
        coordinate = getattr(spec.region, "coordinate", None)
        if coordinate is not None and hasattr(spec.region, "value"):
            r = r.subs(coordinate, _exact_number(spec.region.value))
        return _simplified(r)

    def _constant_normals(self, spec: TermSpec) -> dict[sp.Basic, sp.Basic] | None:
        """``{Normal(c): n_c}`` when the region's outward normal (as the solver's points carry
        it) is the same at every point, else None."""
        gen = torch.Generator().manual_seed(0)  # the sampling of the numeric checks is unchanged
        _, data = spec.region.draw(16, gen, torch.float64, torch.device("cpu"))
        normals = data.get("normal")
        if normals is None or not bool(torch.all(normals == normals[:1])):
            return None
        return {Normal(c): sp.nsimplify(float(normals[0, j])) for j, c in enumerate(self.problem.coordinates)}

    # -- numeric --------------------------------------------------------------------------------
    def _evaluations(
        self, spec: TermSpec, wanted: set[Field], pinned: Mapping[str, float]
    ) -> tuple[list[Evaluation], np.ndarray]:
        """Points of the term's region drawn as the solver draws them (with their normals and
        observations), and one evaluation of the exact solution there per engine (autograd, or
        finite differences with steps h and 2h: their gap estimates the differencing error)."""
        name = spec.region.name
        x, data = spec.region.draw(self.n, self.generator, torch.float64, torch.device("cpu"))
        points = {name: PointSet(name, x, dict(data))}
        plans = {name: DerivativePlan.build(wanted)}
        evs: list[Evaluation] = []
        for engine in self.engines:
            ev = Evaluation(self.model, points, plans, engine, self.problem.unknowns, create_graph=False)
            evs.append(ScalarView(ev, pinned) if pinned else ev)
        return evs, x.numpy()

    def _method(self, name: str) -> tuple[str, float]:
        """The numeric method's name and the relative tolerance of term ``name``."""
        if self.exact.symbolic is not None:
            method, tol = "autograd", self.rtol or NUMERIC_RTOL
        else:
            method, tol = "finite differences", self.rtol or FD_RTOL
        return method, float(self.per_term.get(name, tol))

    def _residual(self, spec: TermSpec, term: Term) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """The points, the solver's residual of the term there, its scale and the differencing
        allowance. The scale is the largest sum of the absolute values of the term's additive
        parts (for data: the largest observed value), floored by the size of the unknowns."""
        inner, pinned = _unwrap(term)
        if not isinstance(inner, ResidualTerm):
            raise ValidationError(f"term {spec.name!r}: the objective built {inner!r}, not a residual")
        parts = [
            compile_expression(a, self.problem.context, what=f"part of {spec.name}", require_unknown=False)
            for a in sp.Add.make_args(spec.expr.expr)
        ]
        wanted = set(inner.fields)
        for p in parts:
            wanted |= p.fields
        evs, pts = self._evaluations(spec, wanted, pinned)
        rs = [inner.residual(ev).detach().numpy() for ev in evs]
        allowance = np.abs(rs[0] - rs[1]) if len(rs) > 1 else np.zeros_like(rs[0])
        env = evs[0].env(spec.region.name)
        if spec.target is not None:
            size = float(torch.max(torch.abs(env.data[spec.target])))
        else:
            total = sum(torch.abs(p(env)).detach() for p in parts)
            size = float(torch.max(total)) if isinstance(total, torch.Tensor) else 0.0
        return pts, rs[0], max(size, self.unknown_scale, 1e-300), allowance


def _exact_number(value: Any) -> sp.Expr:
    """A face's coordinate value as an exact number (``1.0`` as ``1``, so ``exp(1)`` stays ``E``)."""
    v = sp.sympify(value)
    if not isinstance(v, sp.Float):
        return v
    exact = sp.nsimplify(v, [sp.pi])  # 1.0 -> 1, 0.5 -> 1/2, 6.283185307179586 -> 2*pi
    return exact if abs(float(exact) - float(v)) <= 1e-15 * max(1.0, abs(float(v))) else v


def _simplified(r: sp.Expr) -> sp.Expr:
    """``r`` simplified (zero stays zero; sympy can fail on exotic expressions: the numeric check decides)."""
    if r == 0:
        return sp.S.Zero
    try:
        return sp.simplify(r)
    except Exception:
        return r
