"""The sympy -> torch compiler: residuals of exact solutions, derivatives, errors."""

from __future__ import annotations

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_objective
from pinnopt.losses import PointSet
from pinnopt.symbolic import (
    AutogradEngine,
    DerivativePlan,
    Field,
    SymbolContext,
    compile_expression,
)
from pinnopt.validate.exact_model import ExactModel

from .exact_problems import ALL

x, y, t = sp.symbols("x y t")


def _points(problem: po.Problem, n: int, generator: torch.Generator) -> dict[str, PointSet]:
    sets = {}
    for spec in problem.terms:
        pts = spec.region.sample(n, generator, torch.float64, torch.device("cpu"))
        if spec.region.name == "interior":  # stay off kinks at 0 (|x|, Piecewise)
            pts = pts[(pts.abs() > 1e-3).all(dim=1)]
        sets[spec.region.name] = PointSet(spec.region.name, pts)
    return sets


@pytest.mark.parametrize("name", sorted(ALL))
def test_exact_solution_makes_every_residual_vanish(name: str, generator: torch.Generator) -> None:
    problem = ALL[name]()
    model = ExactModel(problem)
    objective = build_objective(problem)
    points = _points(problem, 256, generator)
    ev = objective.evaluation(model, points, create_graph=False)
    for term in objective.terms:
        r = term.residual(ev).detach()
        assert r.dtype == torch.float64
        assert r.shape[0] == len(points[term.point_set])
        assert float(r.abs().max()) < 1e-9, f"{name}/{term.name}: {float(r.abs().max())}"


def test_wrong_exact_solution_is_detected(generator: torch.Generator) -> None:
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        exact=sp.sin(sp.pi * x) + x**3,  # wrong on purpose
    )
    ev = build_objective(problem).evaluation(
        ExactModel(problem), _points(problem, 64, generator), create_graph=False
    )
    assert float(build_objective(problem).terms[0].residual(ev).abs().max()) > 1.0


def test_derivatives_match_finite_differences_on_a_random_network() -> None:
    torch.manual_seed(0)
    net = po.nn.MLP(width=16, depth=3).build(2, 2, ((-1.0, 0.0), (1.0, 2.0))).double()
    wanted = {
        Field(u, o)
        for u in ("u", "v")
        for o in [(1, 0), (0, 1), (2, 0), (1, 1), (0, 2), (3, 0), (2, 1), (1, 3), (4, 0), (2, 2)]
    }
    plan = DerivativePlan.build(wanted)
    engine = AutogradEngine()
    pts = torch.rand(32, 2, dtype=torch.float64) * torch.tensor([2.0, 2.0]) + torch.tensor([-1.0, 0])
    fields = engine.evaluate(net, pts, plan, ("u", "v"))
    h = 1e-5
    # every derivative equals the central difference of a lower one (also computed by autograd)
    for f in wanted:
        axis = max(a for a, k in enumerate(f.orders) if k > 0)
        lower = f.lowered(axis)
        shift = torch.zeros(2, dtype=torch.float64)
        shift[axis] = h
        lp = DerivativePlan.build({lower})
        up = engine.evaluate(net, pts + shift, lp, ("u", "v"), create_graph=False)[lower]
        dn = engine.evaluate(net, pts - shift, lp, ("u", "v"), create_graph=False)[lower]
        fd = (up - dn) / (2 * h)
        scale = 1.0 + float(fd.abs().max().detach())
        assert float((fields[f] - fd).abs().max().detach()) < 1e-6 * scale, f


def test_plan_computes_each_derivative_once_from_a_needed_parent() -> None:
    ux, ut, uxx = Field("u", (1, 0)), Field("u", (0, 1)), Field("u", (2, 0))
    plan = DerivativePlan.build({ux, ut, uxx})
    parents = [p for p, _ in plan.steps]
    assert parents == [Field("u", (0, 0)), ux]  # u -> (u_x, u_t); u_x -> u_xx: two backward passes
    produced = [c for _, children in plan.steps for _, c in children]
    assert sorted(produced) == sorted({ux, ut, uxx})


def test_model_is_called_once_per_point_set() -> None:
    problem = ALL["burgers_manufactured"]()
    calls = []

    class Counting(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = po.nn.MLP(width=8, depth=2).build(2, 1).double()

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            calls.append(z.shape[0])
            return self.net(z)

    g = torch.Generator().manual_seed(0)
    pts = {"interior": PointSet("interior", torch.rand(50, 2, generator=g, dtype=torch.float64))}
    total, _ = build_objective(problem)(Counting(), pts)
    total.backward()
    assert calls == [50]


def test_gradcheck_through_compiled_residual() -> None:
    """Gradients of a compiled residual loss (network weights and a parameter) pass gradcheck."""
    problem = ALL["heat_with_parameter"]()
    objective = build_objective(problem)
    net = po.nn.MLP(width=6, depth=2).build(2, 1).double()
    model = po.nn.PINN(net, problem.unknowns, problem.parameters).double()
    g = torch.Generator().manual_seed(3)
    pts = {
        s.region.name: PointSet(s.region.name, s.region.sample(12, g, torch.float64, torch.device("cpu")))
        for s in problem.terms
    }
    layer = net.linears[1]

    def loss(k: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        saved = layer.weight
        del layer.weight
        layer.weight = weight  # a plain tensor that gradcheck perturbs
        try:
            ev = objective.evaluation(model, pts, scalars={"k": k})
            return torch.dot(objective.weights, objective.losses(ev))
        finally:
            layer.weight = saved

    k = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    w = layer.weight.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(loss, (k, w), eps=1e-6, atol=1e-6)


class TestErrors:
    ctx = SymbolContext(coordinates=(x, t), unknowns=("u",), scalars=(sp.Symbol("k"),))
    u = sp.Function("u")(x, t)

    def test_undeclared_symbol_names_it(self) -> None:
        with pytest.raises(po.UnknownSymbolError, match=r"symbol q is not declared"):
            compile_expression(self.u.diff(t) - sp.Symbol("q") * self.u, self.ctx)

    def test_unknown_with_wrong_arguments(self) -> None:
        bad = sp.Function("u")(x)
        with pytest.raises(po.UnknownArgumentsError, match=r"u is applied to \(x\).*write u\(x, t\)"):
            compile_expression(bad.diff(x), self.ctx)

    def test_unknown_at_shifted_argument(self) -> None:
        with pytest.raises(po.UnknownArgumentsError):
            compile_expression(sp.Function("u")(2 * x, t).diff(x), self.ctx)

    def test_derivative_with_respect_to_non_coordinate(self) -> None:
        with pytest.raises(po.DerivativeError, match=r"with respect to k, which is not a coordinate"):
            compile_expression(sp.Derivative(self.u, sp.Symbol("k")), self.ctx)

    def test_unsupported_function(self) -> None:
        with pytest.raises(po.UnsupportedFunctionError, match=r"gamma.*functions=\{'gamma'"):
            compile_expression(self.u - sp.gamma(x + 2), self.ctx)

    def test_unknown_user_function_mentions_table(self) -> None:
        with pytest.raises(po.UnsupportedFunctionError, match=r"function f is neither an unknown"):
            ctx = SymbolContext(coordinates=(x, t), unknowns=("u",))
            compile_expression(self.u - sp.Function("f")(x), ctx)

    def test_equation_without_unknown(self) -> None:
        with pytest.raises(po.NoUnknownError, match=r"does not involve any unknown"):
            compile_expression(x**2 - t, self.ctx)

    def test_inequality_is_not_an_equation(self) -> None:
        with pytest.raises(po.CompileError, match="inequality"):
            compile_expression(self.u >= 0, self.ctx)

    def test_errors_are_value_or_type_errors(self) -> None:
        assert issubclass(po.UnknownSymbolError, ValueError)
        assert issubclass(po.UnsupportedFunctionError, TypeError)
        assert issubclass(po.UnknownSymbolError, po.PinnoptError)

    def test_problem_reports_errors_at_declaration(self) -> None:
        u = sp.Function("u")(x)
        with pytest.raises(po.UnknownSymbolError, match="symbol a is not declared"):
            po.Problem(domain=po.Interval(x, 0, 1), equations=[u.diff(x) - sp.Symbol("a")])

    def test_region_that_is_not_a_side(self) -> None:
        u = sp.Function("u")(x)
        with pytest.raises(po.ProblemError, match=r"x = 2 is not a side"):
            po.Problem(domain=po.Interval(x, 0, 1), equations=[u.diff(x)], conditions=[po.On(sp.Eq(x, 2), u)])


def test_elementary_functions_match_torch() -> None:
    ctx = SymbolContext(coordinates=(x,), unknowns=("u",))
    u = sp.Function("u")(x)
    pts = torch.linspace(0.1, 0.9, 9, dtype=torch.float64)
    cases = {
        sp.sin(x) + sp.cos(x) + sp.tan(x): torch.sin(pts) + torch.cos(pts) + torch.tan(pts),
        sp.exp(x) * sp.log(x) + sp.sqrt(x): torch.exp(pts) * torch.log(pts) + torch.sqrt(pts),
        sp.tanh(x) + sp.sinh(x) - sp.cosh(x): torch.tanh(pts) + torch.sinh(pts) - torch.cosh(pts),
        sp.Min(x, 0.5) + sp.Max(x, 0.5, 0.7): torch.clamp(pts, max=0.5) + torch.clamp(pts, min=0.7),
        sp.Abs(x - 0.5) * sp.sign(x - 0.5): (pts - 0.5).abs() * torch.sign(pts - 0.5),
        sp.Heaviside(x - 0.5): torch.heaviside(pts - 0.5, torch.tensor(0.5, dtype=torch.float64)),
        x ** sp.Rational(3, 2) + x**-2 + sp.E**x + sp.pi: pts**1.5 + pts**-2 + torch.exp(pts) + torch.pi,
        sp.Piecewise((x, x < 0.5), (1 - x, True)): torch.where(pts < 0.5, pts, 1 - pts),
        2**x: 2**pts,
    }
    for expr, ref in cases.items():
        c = compile_expression(u + expr, ctx)
        from pinnopt.symbolic import Env

        out = c(Env([pts], {Field("u", (0,)): torch.zeros_like(pts)}, {}))
        torch.testing.assert_close(out, ref, msg=str(expr))


def test_constants_are_folded_and_float32_works() -> None:
    ctx = SymbolContext(coordinates=(x,), unknowns=("u",))
    u = sp.Function("u")(x)
    c = compile_expression(u * sp.sqrt(2) * sp.pi + sp.Rational(1, 3), ctx)
    from pinnopt.symbolic import Env

    pts = torch.ones(4, dtype=torch.float32)
    out = c(Env([pts], {Field("u", (0,)): pts}, {}))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.full((4,), 2**0.5 * torch.pi + 1 / 3))


def test_function_table_is_extendable_without_global_state() -> None:
    table = po.symbolic.DEFAULT_FUNCTIONS.extended(besselj0=torch.special.bessel_j0)
    assert "besselj0" in table and "besselj0" not in po.symbolic.DEFAULT_FUNCTIONS
    with pytest.raises(po.ConfigError):
        po.symbolic.FunctionTable({"f": 3})  # type: ignore[dict-item]
