"""Constraints inside pinnopt.solve: positivity benchmark (quick), exact bounds, multipliers, example."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
import sympy as sp

import pinnopt as po
from benchmarks import positivity

ROOT = Path(__file__).resolve().parents[1]
x = sp.Symbol("x")
u = sp.Function("u")(x)


def test_positivity_barrier_converges_where_the_unconstrained_fit_diverges() -> None:
    """The CI version of benchmarks/positivity.py (full run: 1000 Adam + 500 L-BFGS steps)."""
    free = positivity.run("free", -1.0, None, positivity.QUICK)
    assert free["final_D"] < -10  # trapped on the wrong side and drifting to -inf
    bounded = positivity.run("barrier", -1.0, positivity.barrier(), positivity.QUICK)
    assert bounded["min_D"] < 0  # it did start infeasible
    assert bounded["D_rel_error"] < 1e-2 and bounded["u_rel_l2"] < 1e-2, bounded


def test_reparameterized_bound_is_baked_into_a_plain_parameter(tmp_path: Path) -> None:
    k = sp.Symbol("k")
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x) - k],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u - 2)],  # wants k = 2
        parameters={k: 0.5},
        bounds=[po.Bound(po.between(k, 0, 1), method="reparam")],
    )
    seen: list[float] = []
    result = po.solve(
        problem,
        model=po.nn.MLP(width=8, depth=1),
        phases=[po.optim.Adam(steps=150, lr=2e-2)],
        collocation=po.Collocation(interior=32, boundary=1),
        callbacks=[lambda view, s: seen.append(float(view.scalars()["k"]))],
    )
    assert all(0 < v < 1 for v in seen) and seen[-1] > 0.9
    assert set(result.model.state_dict()) >= {"params.k"}
    assert result.parameters["k"] == pytest.approx(seen[-1])
    loaded = po.Result.load(result.save(tmp_path / "r.pt"), problem=problem)
    assert loaded.parameters == result.parameters
    assert result.config["constraints"] == {"bound:k>=0": "reparam", "bound:k<=1": "reparam"}


def test_multipliers_update_during_adam_only_and_are_checkpointed() -> None:
    a, b = sp.symbols("a b")
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x) - (a + b)],
        conditions=[po.On(sp.Eq(x, 0), u), po.On(sp.Eq(x, 1), u - 2)],  # a + b = 2
        parameters={a: 0.0, b: 0.0},
        equalities=[po.Equality(sp.Eq(a - b, 1), rho=1.0, every=50, name="split")],  # a = 1.5, b = 0.5
        # a small pull on a gives the equality a non-zero multiplier: stationarity along
        # (a, b) += (t, -t), which keeps a + b, gives 2 w a + 2 lam = 0, so lam = -w a
        regularization=[po.L2(a, weight=0.01)],
    )
    states: dict[int, dict] = {}

    def grab(view, step: int) -> None:
        states[step] = next(t for t in view.terms if t.name == "split").state_dict()

    result = po.solve(
        problem,
        model=po.nn.MLP(width=8, depth=1),
        phases=[po.optim.Adam(steps=300, lr=2e-2), po.optim.LBFGS(steps=200)],
        collocation=po.Collocation(interior=32, boundary=1),
        callbacks=[grab],
    )
    lam = {s: float(v["lam"]) for s, v in states.items()}
    assert lam[49] == 0.0 and lam[50] != 0.0  # first update at step 50
    last = max(lam)
    assert all(lam[s] == lam[300] for s in range(300, last + 1))  # frozen during L-BFGS
    p = result.parameters
    assert lam[300] == pytest.approx(-0.01 * p["a"], rel=0.2)
    # a quadratic penalty with the same rho would stop at |a - b - 1| = |lam| / rho, about 1.5e-2
    assert abs(p["a"] - p["b"] - 1) < 1e-3
    assert p["a"] == pytest.approx(1.5, abs=2e-2) and p["b"] == pytest.approx(0.5, abs=2e-2)


def test_log_barrier_warns_about_infeasible_points() -> None:
    problem = po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x, 2)],
        conditions=[po.On(sp.Eq(x, 0), u - 2), po.On(sp.Eq(x, 1), u - 2)],
        bounds=[po.Bound(u >= 1, method="log", m=10.0)],  # the initial network is near 0 < 1
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        po.solve(
            problem,
            model=po.nn.MLP(width=4, depth=1),
            phases=[po.optim.Adam(steps=10, lr=1e-3)],
            collocation=po.Collocation(interior=16, boundary=1),
            log_every=5,
        )
    msgs = [str(w.message) for w in caught if issubclass(w.category, po.PinnoptWarning)]
    assert any("infeasible point" in m and "strictly feasible" in m for m in msgs), msgs


def test_bounded_fit_example_runs() -> None:
    spec = importlib.util.spec_from_file_location("bounded_fit", ROOT / "examples" / "bounded_fit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(steps=20)
    report = po.validate.feasibility(result)
    assert [e.name for e in report] == ["bound:D>=0.1", "bound:D<=2.0"]
    assert result.steps > 20
