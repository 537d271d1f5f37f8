"""Levenberg-Marquardt / Gauss-Newton with robust (worst-case) terms at their maximizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch
from pinnopt.problems import robust_design as rd

import pinnopt as po
from pinnopt.compile.stage import compile_problem
from pinnopt.declare.uncertainty.space import Uncertain, UncertaintySpace
from pinnopt.losses import Objective
from pinnopt.robust import RobustTerm
from pinnopt.train.jacobian import LeastSquares
from pinnopt.train.trees import clone_tree

from .robust_helpers import ValueTerm, model, scalar

torch.set_num_threads(1)

x, k, c = sp.symbols("x k c")
u = sp.Function("u")(x)


def _poisson() -> po.Problem:
    """-k u'' = 1 on (0, 1), u(0) = 0, u(1) = c; k uncertain: the model does not see k."""
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-k * u.diff(x, 2) - 1],
        conditions=[po.On(sp.Eq(x, 0), u, name="u0"), po.On(sp.Eq(x, 1), u - c * k, name="right")],
        uncertain={k: po.robust.BoxSet(0.8, 1.2)},
        parameters={c: 0.1},
    )


def _design_groups(aggregate: Any = None) -> list[po.robust.Robust]:
    return [
        po.robust.Robust(
            ["pde", "u0"], method=po.robust.GridSearch(5), aggregate=po.robust.Mean(), name="physics"
        ),
        po.robust.Robust(
            ["target"],
            method=po.robust.PGA(steps=3, restarts=2, vertices=True),
            aggregate=aggregate or po.robust.Max(),
            name="worst_target",
        ),
    ]


CASES = {
    # parametric network u(t, k); a mean over a grid (physics) and a worst case (target)
    "design": lambda: (
        rd.make_problem(),
        {
            "model": po.robust.Parametric(po.nn.MLP(width=8, depth=2)),
            "collocation": po.Collocation(interior=12, boundary=1),
            "robust": _design_groups(),
        },
    ),
    # u(x) alone: k enters the equations only; a worst case and a CVaR over the same set
    "poisson": lambda: (
        _poisson(),
        {
            "model": po.nn.MLP(width=8, depth=2),
            "collocation": po.Collocation(interior=12, boundary=1),
            "robust": [
                po.robust.Robust(["pde"], method=po.robust.GridSearch(7), name="worst_pde"),
                po.robust.Robust(
                    ["u0", "right"],
                    method=po.robust.Sampling(6),
                    aggregate=po.robust.CVaR(0.5),
                    name="cvar_bc",
                ),
            ],
        },
    ),
}


def _compiled(case: str) -> Any:
    problem, kw = CASES[case]()
    return compile_problem(problem, dtype="float64", seed=0, **kw)


def _least_squares(case: str) -> tuple[Any, LeastSquares]:
    comp = _compiled(case)
    params = [p for p in comp.model.parameters() if p.requires_grad]
    return comp, LeastSquares(comp.objective, comp.model, params, "test")


@pytest.mark.parametrize("case", list(CASES))
def test_squared_residuals_are_the_objective_value(case: str) -> None:
    comp, ls = _least_squares(case)
    obj, model, points = comp.objective, comp.model, comp.points
    assert any(isinstance(t, RobustTerm) for t in obj.terms)
    obj(model, points, create_graph=False)  # the searches' state exists from here on (snapshots)
    for _ in range(2):  # the second evaluation continues from the first search's warm starts
        state = clone_tree(obj.state_dict())
        total, _ = obj(model, points, create_graph=False)  # the first-order path
        obj.load_state_dict(clone_tree(state))
        r, losses = ls.values(points)
        assert float(r @ r) == pytest.approx(float(total.detach()), rel=1e-10, abs=0)
        assert float(obj.weights @ losses) == pytest.approx(float(total.detach()), rel=1e-12, abs=0)


@pytest.mark.parametrize("case", list(CASES))
def test_jacobian_at_a_fixed_maximizer_matches_finite_differences(case: str) -> None:
    comp, ls = _least_squares(case)
    points = comp.points
    r, _, at = ls.evaluate(points)
    assert set(at) == {t.name for t in comp.objective.terms if isinstance(t, RobustTerm)}
    theta = ls.flat()
    assert torch.allclose(ls.vector(theta, points, at), r, rtol=0, atol=1e-12)
    jac = ls.jacobian(points, at=at)
    assert jac.shape == (r.numel(), theta.numel())
    h = 1e-6
    for i in (0, 5, theta.numel() // 2, theta.numel() - 1):
        e = torch.zeros_like(theta)
        e[i] = h
        fd = (ls.vector(theta + e, points, at) - ls.vector(theta - e, points, at)) / (2 * h)
        assert torch.allclose(fd, jac[:, i], rtol=0, atol=1e-7), i
    v = torch.randn(theta.numel(), dtype=theta.dtype, generator=torch.Generator().manual_seed(0))
    jv, jtu = ls.operators(points, at)
    assert torch.allclose(jv(v), jac @ v, atol=1e-12)
    assert torch.allclose(jtu(r), jac.T @ r, atol=1e-12)


def test_the_maximizer_is_the_worst_candidate() -> None:
    comp, ls = _least_squares("poisson")
    _, _, at = ls.evaluate(comp.points)
    term = next(t for t in comp.objective.terms if t.name == "worst_pde")
    xi, coef = at["worst_pde"]
    assert xi.shape == (1, 1) and float(coef) == 1.0
    grid = torch.linspace(0.8, 1.2, 201, dtype=torch.float64)[:, None]
    ev = comp.objective.evaluation(comp.model, comp.points, create_graph=False)
    dense = term.evaluator.bind(ev).values(grid, "search")
    assert float(xi) == pytest.approx(float(grid[dense.argmax()]), abs=1e-12)  # an end of the set
    xi, coef = at["cvar_bc"]
    assert xi.shape == (3, 1) and torch.allclose(coef, torch.full((3,), 1 / 3, dtype=torch.float64))


def _solve(case: str, phases: list[Any], **kw: Any) -> po.Result:
    problem, options = CASES[case]()
    return po.solve(
        problem,
        phases=phases,
        dtype="float64",
        log_every=5,
        runtime=po.Runtime(progress=False),
        **options,
        **kw,
    )


def test_levenberg_marquardt_lowers_the_worst_case_at_least_as_far_as_adam_and_lbfgs() -> None:
    # The budgets: LM(25) took 1.3 s of CPU, Adam(200) + L-BFGS(50) 3.0 s (one thread, side by
    # side); LM reached a worst-case loss of 1.6e-5 against 3.8e-4.
    lm = _solve("design", [po.optim.LevenbergMarquardt(25)])
    first = _solve("design", [po.optim.Adam(200, lr=3e-3), po.optim.LBFGS(50)])
    assert lm.history.loss[-1] < 1e-2 * lm.history.loss[0]
    assert lm.history.loss[-1] <= first.history.loss[-1]
    assert lm.parameters["theta"] == pytest.approx(rd.robust_theta(), rel=1e-2)


def test_each_accepted_step_lowers_the_worst_case_also_matrix_free_and_gauss_newton() -> None:
    # The gain ratio compares the objective's own value at the trial point (a new search), and
    # the next step starts from that value: the recorded losses fall at every step.
    lm = po.optim.LevenbergMarquardt(3, solver="cg", cg_iterations=10)
    res = _solve("poisson", [lm, po.optim.GaussNewton(3)])
    loss = np.asarray(res.history.loss)
    assert len(loss) >= 4 and np.all(np.diff(loss) < 0)
    assert loss[-1] < 0.2 * loss[0]


def test_soft_worst_cases_and_non_squares_are_refused_by_name() -> None:
    with pytest.raises(po.ConfigError, match=r"robust term 'worst_target'.*LogSumExp"):
        po.solve(
            rd.make_problem(),
            model=po.robust.Parametric(po.nn.MLP(width=8, depth=2)),
            collocation=po.Collocation(interior=8, boundary=1),
            robust=_design_groups(po.robust.LogSumExp(1e-3)),
            phases=[po.optim.LevenbergMarquardt(2)],
            dtype="float64",
        )
    theta, xi = sp.symbols("theta xi")
    space = UncertaintySpace([Uncertain(xi, po.robust.BoxSet(-1.0, 1.0))])
    value = ValueTerm("f", scalar((theta - xi) ** 2, [theta, xi]))  # a mean of values, not of squares
    worst = RobustTerm("worst_f", [value], space, method=po.robust.GridSearch(5))
    m = model({theta: 0.5})
    with pytest.raises(po.ConfigError, match=r"robust term 'worst_f'.*member 'f' \(ValueTerm\)"):
        LeastSquares(Objective([worst], ("u",)), m, list(m.parameters()), "test")


def _interrupt_at(step_: int) -> Any:
    def cb(trainer: Any, step: int) -> None:
        if step == step_:
            raise KeyboardInterrupt

    return cb


def test_resume_with_a_robust_term_is_bit_for_bit(tmp_path: Path) -> None:
    def make() -> list[Any]:
        return [po.optim.Adam(4, lr=1e-2), po.optim.LevenbergMarquardt(12)]

    whole = _solve("poisson", make())
    every3 = po.callbacks.Checkpoint(tmp_path, every=3)
    first = _solve("poisson", make(), callbacks=[_interrupt_at(10)], checkpoint=every3)
    assert first.stop_reason is po.stop.StopReason.INTERRUPTED
    resumed = _solve("poisson", make(), resume=tmp_path)
    assert resumed.steps == whole.steps
    for p0, p1 in zip(whole.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(p0, p1)
    np.testing.assert_array_equal(resumed.history.loss, whole.history.loss)
