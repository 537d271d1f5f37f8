"""Checking declared problems against their exact solutions, and gradient checks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.symbolic import AutogradEngine

from .exact_problems import ALL

x, t = sp.symbols("x t")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Small problems: one thread avoids oversubscription on a shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _poisson(sign: int = -1, left: sp.Expr = sp.S.Zero) -> po.Problem:
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) + sign * sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u - left), po.On(sp.Eq(x, 1), u)],
        exact=sp.sin(sp.pi * x),
        name="poisson",
    )


def test_correct_problems_pass_symbolically_or_numerically() -> None:
    for name in ("poisson1d", "three_unknown_system", "beam_fourth_order", "kovasznay", "piecewise_source"):
        report = po.check_problem(ALL[name]())
        assert report.passed, report
    report = po.check_problem(_poisson())
    assert [r.method for r in report.terms] == ["symbolic"] * 3


def test_wrong_sign_and_wrong_boundary_value_are_flagged() -> None:
    report = po.check_problem(_poisson(sign=+1, left=sp.Integer(1)))
    assert not report.passed
    assert [f.name for f in report.failures] == ["pde", "x=-1"]
    pde = report.failures[0]
    assert pde.rel == pytest.approx(1.0, rel=1e-6) and "sin(pi*x)" in pde.detail
    text = str(report)
    assert "FAIL" in text and "2 of 3 terms" in text


def _burgers(viscous_sign: int = -1, ic: sp.Expr | None = None) -> po.Problem:
    """Burgers with the Cole-Hopf exact solution as a numpy callable: finite differences."""
    u = sp.Function("u")(x, t)
    nu = sp.Rational(1, 100) / sp.pi
    burgers = problems.module("burgers")
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u * u.diff(x) + viscous_sign * nu * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, -1), u),
            po.On(sp.Eq(x, 1), u),
            po.On(sp.Eq(t, 0), u + sp.sin(sp.pi * x) if ic is None else ic),
        ],
        exact=burgers.exact,
        name="burgers",
    )


def test_numeric_exact_solution_is_checked_by_finite_differences() -> None:
    good = po.check_problem(_burgers(), n=96)
    assert good.passed, good
    assert {r.method for r in good.terms} == {"finite differences"}
    bad = po.check_problem(_burgers(viscous_sign=+1, ic=u_minus_sin()), n=96)
    assert [f.name for f in bad.failures] == ["pde", "t=0"]
    assert all(f.rel > 0.5 for f in bad.failures)


def u_minus_sin() -> sp.Expr:
    return sp.Function("u")(x, t) - sp.sin(sp.pi * x)


def test_terms_with_unknown_parameter_values_are_skipped() -> None:
    k = sp.Symbol("k")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x) - k],
        conditions=[po.On(sp.Eq(x, 0), u)],
        parameters=[po.Parameter(k, init=1.0)],
        exact=2 * x,
    )
    report = po.check_problem(problem)
    assert report.passed
    assert report.terms[0].passed is None and "k" in report.terms[0].detail
    assert report.terms[1].passed is True


def test_check_needs_an_exact_solution() -> None:
    u = sp.Function("u")(x)
    problem = po.Problem(domain=po.Interval(x, 0, 1), equations=[u.diff(x) - 1], name="noexact")
    with pytest.raises(po.ValidationError, match="'noexact' declares no exact solution"):
        po.check_problem(problem)


def test_gradient_check_passes_for_the_compiled_derivatives_and_loss() -> None:
    for name in ("heat_with_parameter", "beam_fourth_order", "kovasznay"):
        report = po.gradient_check(ALL[name](), max_points=48)
        assert report.passed, report
    report = po.gradient_check(ALL["heat_with_parameter"](), max_points=48)
    labels = [g.label for g in report.gradient]
    assert "parameter k" in labels and sum(lab.startswith("random") for lab in labels) == 4
    assert {f.field for f in report.fields} >= {"u_t", "u_x", "u_xx"}
    assert report.worst < 1e-6


class _ScaledEngine(AutogradEngine):
    """Returns second derivatives 0.1 % too large (a deliberately broken engine)."""

    def evaluate(self, model, points, plan, unknowns, *, create_graph=True):  # type: ignore[no-untyped-def]
        values = super().evaluate(model, points, plan, unknowns, create_graph=create_graph)
        return {k: v * 1.001 if k.order == 2 else v for k, v in values.items()}


class _WrongTanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):  # type: ignore[no-untyped-def]
        y = torch.tanh(z)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        (y,) = ctx.saved_tensors
        return g * 1.01 * (1 - y * y)  # 1 % wrong


class _WrongNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(1, 8)
        self.b = torch.nn.Linear(8, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.b(_WrongTanh.apply(self.a(z)))


def test_gradient_check_catches_wrong_derivatives() -> None:
    problem = ALL["poisson1d"]()
    bad_engine = po.gradient_check(problem, engine=_ScaledEngine(), max_points=32)
    assert not bad_engine.passed
    assert bad_engine.worst_field.field == "u_xx" and bad_engine.worst_field.rel > 5e-4
    model = po.nn.PINN(_WrongNet().double(), ["u"])
    bad_backward = po.gradient_check(problem, model, max_points=32)
    assert not bad_backward.passed
    mismatched = {f.field for f in bad_backward.fields if f.rel > 1e-3}
    assert "u_x" in mismatched  # autograd's first derivative disagrees with differences of u
    assert bad_backward.worst_gradient.rel > 1e-3
    assert "MISMATCH" in str(bad_backward)
    assert np.isfinite(bad_backward.loss)


@pytest.mark.parametrize("symbolic", [True, False])
def test_periodic_conditions_are_checked_between_paired_points(symbolic: bool) -> None:
    u = sp.Function("u")(x, t)

    def declared(exact: object) -> po.Problem:
        return po.Problem(
            domain=po.Interval(x, 0, 2 * sp.pi) * po.Interval(t, 0, 1),
            equations=[u.diff(t) + 3 * u.diff(x)],
            conditions=[po.Periodic(x, u, derivatives=1), po.Initial(t, u, sp.sin(x))],
            exact=exact,
        )

    good = po.check_problem(declared(sp.sin(x - 3 * t)), symbolic=symbolic)
    assert good.passed, good
    # a travelling wave of the wrong period satisfies the PDE but not the periodicity
    bad = po.check_problem(declared(sp.sin((x - 3 * t) / 2)), symbolic=symbolic)
    failed = {row.name for row in bad.failures}
    assert "periodic(x)" in failed and "pde" not in failed, bad
    assert problems.get("periodic_advection") is not None
    assert po.check_problem(problems.get("periodic_advection")).passed
