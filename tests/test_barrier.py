"""Barrier functions: overflow safety, continuity at the cap, log-barrier extension, state, warnings."""

from __future__ import annotations

import itertools
import warnings

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.constraints import constraint_terms
from pinnopt.losses import Objective, PointSet
from pinnopt.losses.barrier import DEFAULT_CAP, BarrierTerm, capped_exp, log_barrier

DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_capped_exp_is_finite_and_increasing_for_huge_arguments(dtype: torch.dtype) -> None:
    m, violation = 1e3, torch.tensor([1e-3, 1.0, 1e3], dtype=dtype, requires_grad=True)
    b = capped_exp(m * violation)
    (grad,) = torch.autograd.grad(b.sum(), violation)
    assert torch.isfinite(b).all() and torch.isfinite(grad).all()
    assert (grad > 0).all() and (b > 0).all()
    assert b[2] > b[1] > b[0]
    # past the cap: linear with the slope of the exponential at the cap
    cap = torch.tensor(DEFAULT_CAP, dtype=torch.float64)
    assert float(grad[2]) == pytest.approx(m * float(torch.exp(cap)), rel=1e-5)


def test_capped_exp_matches_exp_below_the_cap_and_is_c1_at_it() -> None:
    z = torch.linspace(-30, DEFAULT_CAP, 101, dtype=torch.float64)
    torch.testing.assert_close(capped_exp(z), torch.exp(z), rtol=1e-14, atol=0)
    eps = 1e-6
    zz = torch.tensor([DEFAULT_CAP - eps, DEFAULT_CAP + eps], dtype=torch.float64, requires_grad=True)
    v = capped_exp(zz)
    vv = v.detach()
    (g,) = torch.autograd.grad(v.sum(), zz)
    assert float(vv[1] - vv[0]) == pytest.approx(
        2 * eps * float(torch.exp(torch.tensor(DEFAULT_CAP))), rel=1e-4
    )
    assert float(g[1]) == pytest.approx(float(g[0]), rel=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_barrier_continues_as_a_quadratic_when_infeasible(dtype: torch.dtype) -> None:
    g = torch.tensor([-1e3, -1.0, 0.0, 1e-12, 0.5, 2.0], dtype=dtype, requires_grad=True)
    b = log_barrier(g, 1e3)
    (grad,) = torch.autograd.grad(b.sum(), g)
    assert torch.isfinite(b).all() and torch.isfinite(grad).all()
    assert (grad < 0).all()  # pushes towards feasibility everywhere
    ref = -torch.log(torch.tensor([0.5, 2.0], dtype=torch.float64)) / 1e3
    torch.testing.assert_close(b[4:].double(), ref, rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_barrier_terms_stay_finite_with_m_1e3_and_violations_1e3(dtype: torch.dtype) -> None:
    """A parameter bound and a field bound on a network, both violated by 1e3."""
    x, k = sp.symbols("x k")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2)],
        conditions=[po.On(sp.Eq(x, 0), u)],
        parameters={k: 0.0},
        bounds=[
            po.Bound(k >= 1e3, m=1e3),
            po.Bound(u >= 1e3, m=1e3, reduce="max"),
            po.Bound(u <= -1e3, m=1e3),
        ],
    )
    terms = constraint_terms(problem.constraints)
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    model = po.nn.PINN(net, problem.unknowns, problem.parameters).to(dtype)
    objective = Objective(terms, problem.unknowns).to(dtype, torch.device("cpu"))
    pts = {"interior": PointSet("interior", torch.linspace(0, 1, 16, dtype=dtype)[:, None])}
    total, losses = objective(model, pts)
    assert torch.isfinite(losses).all() and (losses > 1e10).all(), losses
    total.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert model.params["k"].grad.abs() > 0
    assert sum(float(gr.abs().sum()) for gr in grads) > 0


def test_barrier_coefficient_is_training_state() -> None:
    k = sp.Symbol("k")
    term = constraint_terms(
        po.workflows.fit_parameters(
            k**2, {k: 1.0}, bounds=[k >= 0.5], phases=[po.optim.LBFGS(steps=1)]
        ).constraints
    )[0]
    assert isinstance(term, BarrierTerm)
    term.set_m(123.0)
    state = term.state_dict()
    other = constraint_terms(
        po.workflows.fit_parameters(
            k**2, {k: 1.0}, bounds=[k >= 0.5], phases=[po.optim.LBFGS(steps=1)]
        ).constraints
    )[0]
    assert other.m_value == 1e3
    other.load_state_dict(state)
    assert other.m_value == 123.0


def test_continuation_reaches_final_m_and_hook_restores_state() -> None:
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2)],
        conditions=[po.On(sp.Eq(x, 0), u - 1), po.On(sp.Eq(x, 1), u - 1)],
        bounds=[po.Bound(u <= 2, name="cap", m=1e3, continuation=po.Continuation(1.0, steps=20, every=5))],
    )
    seen: list[float] = []

    def record(view, step) -> None:
        seen.append(next(t for t in view.terms if t.name == "cap").m_value)

    po.solve(
        problem,
        model=po.nn.MLP(width=4, depth=1),
        phases=[po.optim.Adam(steps=30, lr=1e-3)],
        collocation=po.Collocation(interior=16, boundary=1),
        callbacks=[record],
    )
    assert seen[0] < 10 and seen[19:] == [1e3] * 11
    assert all(b >= a for a, b in itertools.pairwise(seen))
    assert seen[9] == pytest.approx(1e3 ** (10 / 20), rel=1e-9)


def test_dominant_barrier_warns_once() -> None:
    k = sp.Symbol("k")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        po.workflows.fit_parameters(
            (k - 1) ** 2,
            {k: -5.0},
            bounds=[po.Bound(k >= 2, m=50.0)],
            phases=[po.optim.Adam(steps=300, lr=1e-3)],
            log_every=50,
        )
    dominant = [
        w for w in caught if issubclass(w.category, po.PinnoptWarning) and "of the loss" in str(w.message)
    ]
    assert len(dominant) == 1
    assert "k>=2" in str(dominant[0].message)


@pytest.mark.parametrize(("reduce", "expected"), [("mean", (2.117 + 1.284 + 0.7788) / 3), ("max", 2.117)])
def test_field_bounds_reduce_over_points_by_mean_or_max(reduce: str, expected: float) -> None:
    """u = x at x = 0, 0.5, 1 with u >= 0.75 and m = 1: barrier values e^0.75, e^0.25, e^-0.25."""
    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2)],
        conditions=[po.On(sp.Eq(x, 0), u)],
        bounds=[po.Bound(u >= 0.75, m=1.0, reduce=reduce, n=3)],
    )
    (term,) = constraint_terms(problem.constraints)
    net = torch.nn.Linear(1, 1).double()
    with torch.no_grad():
        net.weight.fill_(1.0)
        net.bias.fill_(0.0)
    model = po.nn.PINN(net, problem.unknowns)
    name = problem.constraints.point_sets[term.name]
    pts = {name: PointSet(name, torch.tensor([[0.0], [0.5], [1.0]], dtype=torch.float64))}
    _, losses = Objective([term], problem.unknowns)(model, pts)
    assert float(losses[0].detach()) == pytest.approx(expected, rel=1e-3)
