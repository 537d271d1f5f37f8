"""Hard-constrained models through Taylor mode: Leibniz's rule on the inner network's fields
(pinnopt.symbolic.affine) against nested reverse-mode autograd through the whole model."""

from __future__ import annotations

import itertools

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model
from pinnopt.compile.hard import HardConstrained, plan_hard_constraints
from pinnopt.nn.taylor import AutoEngine, TaylorEngine
from pinnopt.symbolic import AutogradEngine, DerivativePlan, Field
from pinnopt.symbolic.affine import inner_plan

from .test_hard_constraints import heat_like  # both sides of x, t's lower end; a soft flux

x, y, t = sp.symbols("x y t")
F64 = torch.float64
CPU = torch.device("cpu")


def disk_system() -> po.Problem:
    """A disk boundary (the 'sphere' factor) on u; v unconstrained."""
    u, v = (sp.Function(n)(x, y) for n in "uv")
    return po.Problem(
        domain=po.Disk((x, y), center=(0.5, -0.25), radius=1.5),
        equations=[u.diff(x, 2) + v, v.diff(y) - u],
        conditions=[po.Dirichlet("circle", u, sp.sin(x) * y)],
    )


def box_system() -> po.Problem:
    """An upper side of y on v, both sides of x on u, w unconstrained."""
    u, v, w = (sp.Function(n)(x, y) for n in "uvw")
    return po.Problem(
        domain=po.Interval(x, -1, 0.5) * po.Interval(y, 0, 1.25),
        equations=[u.diff(x, 2) + v - w, v.diff(y) + w, w.diff(x) - u],
        conditions=[
            po.Dirichlet("x=-1", u, y**2),
            po.Dirichlet("x=0.5", u, 0),
            po.On(sp.Eq(y, 1.25), v - x**2),
        ],
    )


def _model(problem: po.Problem, activation: str = "tanh", depth: int = 3) -> po.nn.PINN:
    torch.manual_seed(0)
    model, _ = build_model(
        problem, po.nn.MLP(width=12, depth=depth, activation=activation), plan_hard_constraints(problem)
    )
    assert isinstance(model.net, HardConstrained)
    return model.to(F64)


def _all_fields(unknowns: tuple[str, ...], dim: int, max_order: int) -> DerivativePlan:
    orders = [o for o in itertools.product(range(max_order + 1), repeat=dim) if 0 < sum(o) <= max_order]
    return DerivativePlan.build(Field(u, o) for u in unknowns for o in orders)


def _points(problem: po.Problem, n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return problem.domain.sample_interior(n, gen, F64, CPU)


ENGINES = {
    "auto": AutoEngine(),
    "taylor_fused": TaylorEngine(),
    "taylor_unfused": TaylorEngine(fused=False),
}


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize(
    ("make", "activation", "max_order"),
    [
        (heat_like, "tanh", 4),
        (heat_like, "sin", 3),
        (disk_system, "tanh", 2),
        (disk_system, "sigmoid", 3),
        (box_system, "tanh", 3),
    ],
)
def test_fields_and_parameter_gradients_match_autograd(
    make, activation: str, max_order: int, engine: str
) -> None:
    problem = make()
    model = _model(problem, activation)
    unknowns = model.unknowns
    plan = _all_fields(unknowns, len(problem.coordinates), max_order)
    values = DerivativePlan.build(Field(u, (0,) * len(problem.coordinates)) for u in unknowns)
    xi, xb = _points(problem, 40), _points(problem, 9, seed=1)
    requests = {"interior": (xi, plan), "values": (xb, values)}
    eng = ENGINES[engine]
    assert eng.resolve(model, plan) is not AutogradEngine
    got = eng.evaluate_sets(model, requests, unknowns)
    want = AutogradEngine().evaluate_sets(model, requests, unknowns)
    params = [p for p in model.parameters() if p.requires_grad]
    for name, fields in want.items():
        for f, ref in fields.items():
            scale = float(ref.detach().abs().max()) + 1e-30
            assert float((got[name][f] - ref).detach().abs().max()) <= 1e-11 * scale, (name, f)
    loss_got = sum((v**2).sum() for fs in got.values() for v in fs.values())
    loss_want = sum((v**2).sum() for fs in want.values() for v in fs.values())
    g_got = torch.autograd.grad(loss_got, params)
    g_want = torch.autograd.grad(loss_want, params)
    for a, b in zip(g_got, g_want, strict=True):
        assert float((a - b).abs().max()) <= 1e-10 * (float(b.abs().max()) + 1e-30)


def test_taylor_mode_is_chosen_for_hard_constrained_models() -> None:
    problem = heat_like()
    model = _model(problem)
    plan = _all_fields(model.unknowns, 2, 2)
    auto = AutoEngine()
    assert auto.resolve(model, plan) is auto.taylor
    assert auto.taylor.supports(model)
    # an inner network Taylor mode does not recognize keeps the autograd path
    torch.manual_seed(0)
    other, _ = build_model(problem, po.nn.MLP(width=8, depth=2, norm="layer"), plan_hard_constraints(problem))
    assert auto.resolve(other, plan) is auto.autograd


def test_the_inner_plan_holds_every_lower_multi_index_of_constrained_unknowns() -> None:
    plan = DerivativePlan.build([Field("u", (2, 1)), Field("v", (0, 2))])
    inner = inner_plan(plan, {"u"})
    got = {f for f in inner.wanted | inner.values}
    want = {Field("u", (a, b)) for a in range(3) for b in range(2)} | {Field("v", (0, 2))}
    assert want <= got
    assert all(f.unknown == "u" or f.orders in ((0, 2), (0, 1), (0, 0)) for f in got)


def _short_solve(problem: po.Problem, engine: po.nn.AutoEngine | AutogradEngine, steps: int) -> torch.Tensor:
    """The loss of every step of a short float64 Adam run with hard constraints where possible."""
    result = po.solve(
        problem,
        model=po.nn.MLP(width=10, depth=2),
        collocation=po.Collocation(interior=64, boundary=16),
        phases=[po.optim.Adam(steps=steps, lr=1e-3)],
        hard_constraints="where_possible",
        runtime=po.Runtime(engine=engine, progress=False),
        dtype="float64",
        seed=0,
        log_every=1,
    )
    return torch.as_tensor(result.history.loss)


@pytest.mark.filterwarnings("ignore:hard_constraints='where_possible'")
def test_solve_with_hard_constraints_takes_taylor_mode_and_matches_autograd() -> None:
    """A few Adam steps: the same losses (to round-off) with the default engine and autograd."""
    problem = heat_like()
    losses = {}
    for name, engine in (("auto", po.nn.AutoEngine()), ("autograd", AutogradEngine())):
        losses[name] = _short_solve(problem, engine, 5)
    got, want = losses["auto"], losses["autograd"]
    assert got.shape == want.shape == (5,)
    assert float((got - want).abs().max()) <= 1e-10 * float(want.abs().max())


@pytest.mark.parametrize("kind", ["abs", "max", "sign"])
def test_non_smooth_boundary_values_keep_the_autograd_path(kind: str) -> None:
    """Abs, Max, sign in a Dirichlet value: sympy's derivatives of them do not compile
    (DiracDelta, re), so the model is differentiated by autograd (almost everywhere) and trains."""
    u = sp.Function("u")(x, y)
    value = {"abs": sp.Abs(y - 0.5), "max": sp.Max(y, 0.5), "sign": sp.sign(y - 0.5) * y**2}[kind]
    problem = po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(y, 0, 1),
        equations=[u.diff(x, 2) + u.diff(y, 2) - 1],
        conditions=[po.Dirichlet("x=0", u, value), po.Dirichlet("x=1", u, 0)],
    )
    model = _model(problem)
    plan = _all_fields(model.unknowns, 2, 2)
    auto = AutoEngine()
    assert not model.net.symbolic_derivatives
    assert auto.resolve(model, plan) is auto.autograd
    losses = _short_solve(problem, po.nn.AutoEngine(), 3)
    assert losses.shape == (3,) and bool(torch.isfinite(losses).all())
