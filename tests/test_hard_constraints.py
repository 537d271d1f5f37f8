"""Hard constraints: exact values on enforced sides, terms removed, accuracy vs the soft version."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective
from pinnopt.compile.hard import HardConstrained, interpolant, plan_hard_constraints

x, y, t = sp.symbols("x y t")
F64 = torch.float64


def heat_like() -> po.Problem:
    """Non-zero side values (expressions) on x = 0, x = 2, and an initial value at t = 0.5."""
    u = sp.Function("u")(x, t)
    exact = sp.exp(-t) * sp.cos(x) + x * t
    return po.Problem(
        domain=po.Interval(x, 0, 2) * po.Interval(t, 0.5, 1.5),
        equations=[u.diff(t) - u.diff(x, 2) - (exact.diff(t) - exact.diff(x, 2))],
        conditions=[
            po.Dirichlet("x=0", u, exact.subs(x, 0)),
            po.On(sp.Eq(x, 2), 2 * u - 2 * exact.subs(x, 2)),  # any non-zero constant factor
            po.Initial(t, u, exact.subs(t, 0.5)),
            po.Neumann("x=2", u, exact.diff(x).subs(x, 2), name="flux"),
        ],
        exact=exact,
    )


def test_plan_enforces_values_and_says_why_not_the_rest() -> None:
    plan = plan_hard_constraints(heat_like())
    assert plan.enforced == ["x=0", "x=2", "t=0.5"]
    assert plan.skipped == {"flux": "involves derivatives"}


def test_transform_holds_side_values_to_1e_12_with_an_untrained_network(generator: torch.Generator) -> None:
    problem = heat_like()
    plan = plan_hard_constraints(problem)
    torch.manual_seed(0)
    model, _ = build_model(problem, po.nn.MLP(width=16, depth=2), plan)
    model = model.to(F64)
    assert isinstance(model.net, HardConstrained)
    exact = problem.exact_solution
    for side in ("x=0", "x=2", "t=0.5"):
        pts = problem.domain.region(side).sample(200, generator, F64, torch.device("cpu"))
        got = model(pts)[:, 0].detach().numpy()
        want = exact(pts.numpy())["u"]
        assert np.abs(got - want).max() <= 1e-12, side
    inner = problem.domain.sample_interior(50, generator, F64, torch.device("cpu"))
    assert np.abs(model(inner)[:, 0].detach().numpy() - exact(inner.numpy())["u"]).max() > 1e-3


def test_initial_value_on_a_disk_times_time_is_exact(generator: torch.Generator) -> None:
    """Products with a time interval: the initial slice of a cylinder is enforced, the Neumann circle not."""
    u = sp.Function("u")(x, y, t)
    u0 = sp.exp(x) * sp.cos(y)
    problem = po.Problem(
        domain=po.Disk((x, y)) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - u.diff(x, 2) - u.diff(y, 2)],
        conditions=[po.Initial(t, u, u0), po.Neumann("circle", u, 0)],
    )
    plan = plan_hard_constraints(problem)
    assert plan.enforced == ["t=0"] and plan.skipped == {"circle": "involves derivatives"}
    torch.manual_seed(0)
    model, _ = build_model(problem, po.nn.MLP(width=8, depth=2), plan)
    pts = problem.domain.region("t=0").sample(300, generator, F64, torch.device("cpu"))
    got = model.double()(pts)[:, 0].detach()
    want = torch.exp(pts[:, 0]) * torch.cos(pts[:, 1])
    assert float((got - want).abs().max()) <= 1e-12


def test_enforced_terms_leave_the_objective() -> None:
    problem = heat_like()
    plan = plan_hard_constraints(problem)
    objective = build_objective(problem, skip=plan.enforced)
    assert objective.names == ("pde", "flux")
    assert set(build_objective(problem).names) == {"pde", "x=0", "x=2", "t=0.5", "flux"}


def test_interpolant_reproduces_compatible_side_values() -> None:
    u = sp.Function("u")(x, y)
    exact = x**2 * y + sp.sin(y) + 1
    problem = po.Problem(
        domain=po.Box((x, y), (0, 0), (1, 2)),
        equations=[u.diff(x, 2) + u.diff(y, 2) - (exact.diff(x, 2) + exact.diff(y, 2))],
        conditions=[po.Dirichlet(s, u, exact) for s in ("x=0", "x=1", "y=0", "y=2")],
        exact=exact,
    )
    plan = plan_hard_constraints(problem)
    g = interpolant(plan.sides["u"], problem.coordinates)
    for side, value in ((x, 0), (x, 1), (y, 0), (y, 2)):
        assert sp.simplify(g.subs(side, value) - exact.subs(side, value)) == 0


def test_inconsistent_corners_warn_and_only_selects_terms() -> None:
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - u.diff(x, 2)],
        conditions=[po.Dirichlet("x=0", u, 1), po.Initial(t, u, 0)],  # disagree at (0, 0)
    )
    with pytest.warns(po.PinnoptWarning, match="disagree"):
        build_model(problem, po.nn.MLP(width=4, depth=1), plan_hard_constraints(problem))
    only = plan_hard_constraints(problem, po.HardConstraints(only=["t=0"]))
    assert only.enforced == ["t=0"]
    with pytest.raises(po.ConfigError, match="no condition named"):
        plan_hard_constraints(problem, po.HardConstraints(only=["x=5"]))
    v = sp.Function("v")(x)
    flux = po.Problem(
        domain=po.Interval(x, 0, 1), equations=[v.diff(x, 2)], conditions=[po.Neumann("x=0", v, 1)]
    )
    with pytest.raises(po.ConfigError, match="cannot enforce"):
        plan_hard_constraints(flux, po.HardConstraints(only=["x=0"]))


def test_hard_constraints_at_least_as_accurate_as_soft_and_save_load(tmp_path) -> None:
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.Dirichlet("x=0", u, 0), po.Dirichlet("x=1", u, 1)],
        exact=sp.sin(sp.pi * x) + x,
    )
    kw = dict(
        model=po.nn.MLP(width=16, depth=2),
        phases=[po.optim.Adam(steps=150, lr=5e-3), po.optim.LBFGS(steps=200)],
        collocation=po.Collocation(interior=64, boundary=1),
        log_every=100,
    )
    soft = po.solve(problem, **kw)
    hard = po.solve(problem, hard_constraints=True, **kw)
    e_soft, e_hard = soft.validate().rel_l2["u"], hard.validate().rel_l2["u"]
    assert hard.config["hard_constraints"] == ["x=0", "x=1"]
    assert hard.history.term_names == ("pde",)
    assert e_hard <= e_soft, (e_hard, e_soft)
    assert e_hard < 1e-4
    assert np.abs(hard.predict(np.array([0.0, 1.0]))["u"] - [0.0, 1.0]).max() <= 1e-12
    path = hard.save(tmp_path / "hard.pt")
    loaded = po.Result.load(path, problem=problem)
    pts = np.linspace(0, 1, 7)
    np.testing.assert_array_equal(loaded.predict(pts)["u"], hard.predict(pts)["u"])
    with pytest.raises(po.CheckpointError, match="pass problem="):
        po.Result.load(path)


def test_a_bare_symbol_as_a_side_value_compiles(generator: torch.Generator) -> None:
    """u(x, 0) = x: a sympy Symbol is also a Boolean; it must not be rejected as one."""
    u = sp.Function("u")(x, t)
    problem = po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) - u.diff(x, 2)],
        conditions=[po.On(sp.Eq(t, 0), u - x)],
    )
    torch.manual_seed(0)
    model, _ = build_model(problem, po.nn.MLP(width=8, depth=1), plan_hard_constraints(problem))
    pts = problem.domain.region("t=0").sample(20, generator, F64, torch.device("cpu"))
    got = model.to(F64)(pts)[:, 0].detach()
    assert torch.allclose(got, pts[:, 0], atol=1e-12)
