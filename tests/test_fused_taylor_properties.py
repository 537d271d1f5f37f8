"""Property-based differential tests of the fast derivative path (the fused Taylor node).

A wrong fast path silently trains a wrong model, so for random MLPs, random requested
derivative fields and random point sets, :class:`~pinnopt.nn.taylor.AutoEngine` (the default
engine) must give nested reverse-mode autograd's fields and parameter gradients:

- float64: every field and every parameter gradient of a random weighted sum of the fields
  to ``1e-10`` relative to that field's (that gradient's) largest magnitude;
- float32: the same cases, against the float64 reference of the same (float32-representable)
  network and points, to ``1e-4`` relative plus a few times plain float32 autograd's own error
  (guards the float32 tricks: tanh as ``2 sigmoid(2 z) - 1`` and the power-of-two pre-scaling);
- a random small sympy PDE problem compiled by pinnopt: the per-term losses and the
  parameter gradients of the objective, AutoEngine against AutogradEngine.

Which sets the fused node evaluates (asserted, so that the fast path, not a fallback, is
what is tested): every set whose highest wanted order is 2..4 and whose points do not
require gradients. The others take a fallback, also asserted and compared:

- highest order 1: reverse-mode autograd (AutoEngine's policy, ``min_order=2``);
- points that require gradients: the unfused Taylor operations (``taylor_forward``);
- value-only sets ride in the largest fused call (through the node) when there is one and
  their points do not require gradients; otherwise a plain forward call.

Profiles (tests/conftest.py): 100 examples per property, derandomized;
``PINNOPT_HYPOTHESIS=long`` runs 500 fresh ones.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.nn import PINN, MLPNet
from pinnopt.nn.activations import ACTIVATIONS as ALL_ACTIVATIONS
from pinnopt.nn.taylor import AutoEngine
from pinnopt.nn.taylor.activations import default_rules
from pinnopt.symbolic import AutogradEngine, DerivativePlan, Field

from .test_fused_taylor import _through_fused_node

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import event, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Every activation name whose module class has a Taylor rule (tanh, sin, sigmoid, relu, gelu,
# silu, softplus): all of them go through the fused node (tanh and sigmoid with the dedicated
# kernel, the others through their closed forms).
ACTIVATIONS = sorted(n for n, cls in ALL_ACTIVATIONS.items() if cls in default_rules())

RTOL64 = 1e-10
RTOL64_SATURATED = 1e-8
"""float64 where some pre-activation exceeds SATURATION in magnitude: there the reference itself
is off. Measured against 60-digit mpmath on a silu network (order-4 fields, pre-activations up
to 32): autograd's field off by 3e-8 (7e-11 relative) and a parameter gradient by 3.4e-7 (3e-9
relative to the gradient's 117), the fused node by 1e-12 and 7e-13. In ~24000 random cases the
fused-autograd gap above 1e-10 (at most 2.7e-10) only came with saturated silu networks, and
with every pre-activation below SATURATION it was at most 2e-12."""
SATURATION = 15.0
RTOL32 = 1e-4
FLOOR = 1e-6
"""Magnitudes below this count as this (the fields and gradients here are 1e-4..1e8): a field
that is ~0 (ReLU's second derivatives, a bias no wanted field depends on) is compared to an
absolute 1e-16 in float64."""
FLOAT32_MARGIN = 25.0
"""float32: the fused error may exceed RTOL32 by this many times plain float32 autograd's
error on the same field. That error measures the case's conditioning: a field that is small by
cancellation loses digits in any float32 evaluation (up to 1.6e-3 relative for autograd too,
measured over 1500 random cases). Measured over 3000 random cases: at most 17.7 times
autograd's error beyond RTOL32. The excess comes from saturated units: the fused tanh kernel
forms ``1 - t^2`` from ``t = 2 sigmoid(2 z) - 1``, which keeps only the digits of ``t`` below 1
(at ``|z| ~ 9`` most of them in float32; autograd's ``tanh_backward`` forms ``1 - t^2`` too, from
a better-rounded ``t``). ``4 sigmoid(2 z) sigmoid(-2 z)`` keeps them (measured: within 0.6 times
autograd's error) at the cost of one more sigmoid pass per layer, about 3% of a float32 order-2
step: not taken, since the loss is at float32 round-off of the field's scale."""


def test_every_registered_activation_is_drawn() -> None:
    assert set(ACTIVATIONS) >= {"tanh", "sigmoid", "sin", "silu", "gelu", "softplus", "relu"}


# -- random cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointSpec:
    """One point set: its size, the fields asked for, and whether its points require gradients."""

    n: int
    fields: frozenset[Field]
    requires_grad: bool


@dataclass(frozen=True)
class Case:
    dim: int
    n_out: int
    width: int
    depth: int
    activation: str
    bounds: tuple[tuple[float, ...], tuple[float, ...]] | None
    biases: tuple[bool, ...]
    weight_scale: float
    seed: int
    sets: tuple[PointSpec, ...]

    @property
    def unknowns(self) -> list[str]:
        return [f"u{i}" for i in range(self.n_out)]


@st.composite
def _multi_index(draw: st.DrawFn, dim: int) -> tuple[int, ...]:
    """A multi-index of total order 0..4 (mixed partials included; order 2 the simplest)."""
    order = draw(st.sampled_from([2, 4, 3, 1, 0]))
    axes = draw(st.lists(st.integers(0, dim - 1), min_size=order, max_size=order))
    return tuple(axes.count(j) for j in range(dim))


@st.composite
def _point_spec(draw: st.DrawFn, dim: int, unknowns: list[str]) -> PointSpec:
    n = draw(st.integers(1, 9))
    if draw(st.integers(0, 4)) == 2:  # value-only: some of the unknowns (2: not an end, which
        # hypothesis favours)
        names = draw(st.lists(st.sampled_from(unknowns), min_size=1, unique=True))
        return PointSpec(n, frozenset(Field(u, (0,) * dim) for u in names), False)
    fields = {
        Field(u, o) for u in unknowns for o in draw(st.lists(_multi_index(dim), min_size=1, max_size=3))
    }
    return PointSpec(n, frozenset(fields), draw(st.integers(0, 6)) == 3)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    dim = draw(st.integers(1, 3))
    n_out = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 4))
    bounds = None
    if draw(st.integers(0, 4)) != 2:
        lower = [draw(st.floats(-2.0, 1.0)) for _ in range(dim)]
        upper = [lo + draw(st.floats(0.25, 4.0)) for lo in lower]
        bounds = (tuple(lower), tuple(upper))
    unknowns = [f"u{i}" for i in range(n_out)]
    return Case(
        dim=dim,
        n_out=n_out,
        width=draw(st.integers(2, 12)),
        depth=depth,
        activation=draw(st.sampled_from(ACTIVATIONS)),
        bounds=bounds,
        biases=tuple(draw(st.booleans()) for _ in range(depth + 1)),
        weight_scale=draw(st.sampled_from([0.5, 1.0, 2.0])),
        seed=draw(st.integers(0, 2**31 - 1)),
        sets=tuple(draw(st.lists(_point_spec(dim, unknowns), min_size=1, max_size=3))),
    )


def _build(
    case: Case, *, float32_exact: bool = False
) -> tuple[PINN, dict[str, tuple[torch.Tensor, DerivativePlan]]]:
    """The float64 network and point sets of ``case`` (weights ~ N(0, 2 scale^2 / fan_in), biases
    ~ N(0, 0.25) where present). ``float32_exact``: weights and points rounded to float32, so
    the float64 network is exactly the float32 one."""
    lower, upper = case.bounds if case.bounds is not None else (None, None)
    net = MLPNet(
        case.dim, case.n_out, case.width, case.depth, case.activation, lower, upper, initialize=False
    )
    net = net.double()
    g = torch.Generator().manual_seed(case.seed)

    def draw(shape: torch.Size, std: float) -> torch.Tensor:
        t = torch.randn(shape, generator=g, dtype=torch.float64) * std
        return t.float().double() if float32_exact else t

    with torch.no_grad():
        for layer, has_bias in zip(net.linears, case.biases, strict=True):
            layer.weight.copy_(draw(layer.weight.shape, case.weight_scale * math.sqrt(2 / layer.in_features)))
            if has_bias:
                layer.bias.copy_(draw(layer.bias.shape, 0.5))
            else:
                layer.bias = None
    lo = torch.tensor(lower if lower is not None else [-1.0] * case.dim, dtype=torch.float64)
    hi = torch.tensor(upper if upper is not None else [1.0] * case.dim, dtype=torch.float64)
    requests = {}
    for i, spec in enumerate(case.sets):
        u = torch.rand(spec.n, case.dim, generator=g, dtype=torch.float64)
        x = lo + (hi - lo) * (1.5 * u - 0.25)  # the box and a margin around it
        if float32_exact:
            x = x.float().double()
        requests[f"s{i}"] = (x.requires_grad_(spec.requires_grad), DerivativePlan.build(spec.fields))
    return PINN(net, case.unknowns), requests


# -- comparisons ---------------------------------------------------------------------------------


def _expect_fused(requests: dict[str, tuple[torch.Tensor, DerivativePlan]]) -> dict[str, bool]:
    """Which sets AutoEngine evaluates through the fused node (see the module docstring)."""
    fused = {
        n: 2 <= plan.max_order <= 4 and not x.requires_grad for n, (x, plan) in requests.items() if plan.steps
    }
    riders = any(fused.values())
    return {n: fused.get(n, riders and not x.requires_grad) for n, (x, _) in requests.items()}


Fields = dict[str, dict[Field, torch.Tensor]]


def _weights(requests: dict, seed: int) -> dict[tuple[str, Field], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        (n, f): torch.randn(len(x), generator=g, dtype=torch.float64)
        for n, (x, plan) in requests.items()
        for f in sorted(plan.wanted)
    }


def _param_grads(fields: Fields, weights: dict, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients of ``sum w * field`` (in float64) with respect to ``params`` (zeros where unused)."""
    loss = sum((fields[n][f].double() * w).sum() for (n, f), w in weights.items())
    if not loss.requires_grad:  # e.g. ReLU's second derivatives only: constant zero fields
        return [torch.zeros_like(p) for p in params]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


def _error(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def _scale(t: torch.Tensor) -> float:
    return max(t.abs().max().item(), FLOOR)


def _max_preactivation(model: PINN, requests: dict[str, tuple[torch.Tensor, DerivativePlan]]) -> float:
    """The largest magnitude of any hidden pre-activation at the points."""
    net, top = model.net, 0.0
    with torch.no_grad():
        for x, _ in requests.values():
            h = net.scaling(x) if net.scaling is not None else x
            for layer in net.linears[:-1]:
                z = layer(h)
                top = max(top, z.abs().max().item())
                h = net.activation(z)
    return top


def _describe(case: Case, model: PINN) -> str:
    return f"{case} weights max {[round(lyr.weight.abs().max().item(), 2) for lyr in model.net.linears]}"


# -- properties ----------------------------------------------------------------------------------


@given(case=cases())
def test_auto_engine_matches_nested_autograd_in_float64(case: Case) -> None:
    """Fields and parameter gradients of AutoEngine equal nested autograd's to 1e-10 relative
    (RTOL64_SATURATED where an activation saturates), and the sets the fused node covers were
    evaluated by it."""
    model, requests = _build(case)
    saturated = _max_preactivation(model, requests) > SATURATION
    event(f"pre-activations beyond {SATURATION}: {saturated}")
    rtol = RTOL64_SATURATED if saturated else RTOL64
    got = AutoEngine().evaluate_sets(model, requests, case.unknowns)
    ref = {n: AutogradEngine().evaluate(model, x, plan, case.unknowns) for n, (x, plan) in requests.items()}
    weights = _weights(requests, case.seed)
    for n, fused in _expect_fused(requests).items():
        x, plan = requests[n]
        event(f"fused node: {fused}, highest order: {plan.max_order}, points require grad: {x.requires_grad}")
        for f in requests[n][1].wanted:
            assert _through_fused_node(got[n][f]) is fused, (n, f, _describe(case, model))
    for n, f in weights:
        err, scale = _error(got[n][f], ref[n][f]), _scale(ref[n][f])
        assert err <= rtol * scale, (n, f, err, scale, _describe(case, model))
    params = list(model.parameters())
    grads, ref_grads = _param_grads(got, weights, params), _param_grads(ref, weights, params)
    for i, (a, b) in enumerate(zip(grads, ref_grads, strict=True)):
        err, scale = _error(a, b), _scale(b)
        assert err <= rtol * scale, (i, err, scale, _describe(case, model))


@given(case=cases())
def test_auto_engine_in_float32_matches_the_float64_fields(case: Case) -> None:
    """The float32 network through AutoEngine: fields and parameter gradients within 1e-4 of
    the float64 autograd reference of the same network (relative to the field's scale), beyond
    FLOAT32_MARGIN times the error of float32 autograd itself."""
    model, requests = _build(case, float32_exact=True)
    ref = {n: AutogradEngine().evaluate(model, x, plan, case.unknowns) for n, (x, plan) in requests.items()}
    m32 = copy.deepcopy(model).float()
    r32 = {n: (x.detach().float().requires_grad_(x.requires_grad), plan) for n, (x, plan) in requests.items()}
    got = AutoEngine().evaluate_sets(m32, r32, case.unknowns)
    plain = {n: AutogradEngine().evaluate(m32, x, plan, case.unknowns) for n, (x, plan) in r32.items()}
    weights = _weights(requests, case.seed)
    for n, fused in _expect_fused(r32).items():
        for f in requests[n][1].wanted:
            assert got[n][f].dtype == torch.float32
            assert _through_fused_node(got[n][f]) is fused, (n, f, _describe(case, model))
    for n, f in weights:
        err, scale = _error(got[n][f], ref[n][f]), _scale(ref[n][f])
        bound = RTOL32 * scale + FLOAT32_MARGIN * _error(plain[n][f], ref[n][f])
        assert err <= bound, (n, f, err, scale, bound, _describe(case, model))
    params, p32 = list(model.parameters()), list(m32.parameters())
    ref_grads = _param_grads(ref, weights, params)
    grads, plain_grads = _param_grads(got, weights, p32), _param_grads(plain, weights, p32)
    for i, (a, b, c) in enumerate(zip(grads, ref_grads, plain_grads, strict=True)):
        err, scale = _error(a, b), _scale(b)
        bound = RTOL32 * scale + FLOAT32_MARGIN * _error(c, b)
        assert err <= bound, (i, err, scale, bound, _describe(case, model))


# -- the compiled objective ----------------------------------------------------------------------

COORDS = sp.symbols("x t")


@dataclass(frozen=True)
class ProblemCase:
    dim: int
    n_unknowns: int
    terms: tuple[tuple[tuple[int, int, tuple[int, ...], int | None], ...], ...]
    """Per equation: ``(coefficient index, unknown, multi-index, factor unknown or None)``."""
    width: int
    depth: int
    activation: str
    seed: int


COEFFICIENTS = (sp.Integer(1), sp.Integer(-2), sp.Rational(1, 3), sp.sin(COORDS[0]))


@st.composite
def problems(draw: st.DrawFn) -> ProblemCase:
    dim = draw(st.integers(1, 2))
    n = draw(st.integers(1, 2))
    term = st.tuples(
        st.integers(0, len(COEFFICIENTS) - 1),
        st.integers(0, n - 1),
        _multi_index(dim),
        st.none() | st.integers(0, n - 1),
    )
    return ProblemCase(
        dim=dim,
        n_unknowns=n,
        terms=tuple(tuple(draw(st.lists(term, min_size=1, max_size=3))) for _ in range(n)),
        width=draw(st.integers(2, 8)),
        depth=draw(st.integers(1, 3)),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def _problem(case: ProblemCase) -> po.Problem:
    coords = COORDS[: case.dim]
    x = coords[0]
    fns = [sp.Function(name)(*coords) for name in ("u", "v")[: case.n_unknowns]]

    def derivative(f: sp.Expr, orders: tuple[int, ...]) -> sp.Expr:
        pairs = [(c, k) for c, k in zip(coords, orders, strict=True) if k]
        return sp.Derivative(f, *pairs) if pairs else f

    equations = []
    for i, terms in enumerate(case.terms):
        expr = sp.sin(sp.pi * x)  # a source, so that no residual is identically the network
        for j, (coeff, k, orders, factor) in enumerate(terms):
            term = COEFFICIENTS[coeff] * derivative(fns[i if j == 0 else k], orders)  # every unknown appears
            expr += term if factor is None else term * fns[factor]
        equations.append(expr)
    domain = po.Interval(x, -1, 1) if case.dim == 1 else po.Interval(x, -1, 1) * po.Interval(COORDS[1], 0, 2)
    return po.Problem(
        domain=domain,
        equations=equations,
        conditions=[
            po.On(sp.Eq(x, -1), fns[0] - 1, n=3),  # values only
            po.On(sp.Eq(x, 1), fns[-1].diff(x), n=2),  # order 1: autograd
        ],
    )


@given(case=problems())
def test_compiled_objective_with_auto_engine_matches_autograd(case: ProblemCase) -> None:
    """A random PDE problem compiled by pinnopt: the per-term losses and the parameter
    gradients of the objective agree between AutoEngine and AutogradEngine (float64, 1e-10)."""
    problem = _problem(case)
    pinn, _ = build_model(problem, po.nn.MLP(width=case.width, depth=case.depth, activation=case.activation))
    pinn = pinn.double()
    g = torch.Generator().manual_seed(case.seed)
    with torch.no_grad():
        for layer in pinn.net.linears:  # nonzero biases: no derivative vanishes by symmetry
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g, dtype=torch.float64))
            layer.weight.mul_(math.sqrt(2 / layer.in_features))
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g, dtype=torch.float64) * 0.5)
    points = sample_points(
        problem, po.Collocation(interior=7, boundary=4), g, torch.float64, torch.device("cpu")
    )
    auto = build_objective(problem, AutoEngine())
    ev = auto.evaluation(pinn, points)
    losses = auto.losses(ev)
    ref = build_objective(problem, AutogradEngine())
    ref_losses = ref.losses(ref.evaluation(pinn, points))
    requests = {n: (points[n].x, plan) for n, plan in auto.plans.items()}
    for n, fused in _expect_fused(requests).items():
        event(f"{n}: fused node: {fused}, highest order: {auto.plans[n].max_order}")
        for f in auto.plans[n].wanted:
            assert _through_fused_node(ev.env(n).fields[f]) is fused, (n, f, case)
    for name, a, b in zip(auto.names, losses, ref_losses, strict=True):
        err, scale = _error(a, b), _scale(b)
        assert err <= RTOL64 * scale, (name, err, scale, case)
    params = list(pinn.parameters())
    grads = torch.autograd.grad(torch.dot(auto.weights.double(), losses), params)
    ref_grads = torch.autograd.grad(torch.dot(ref.weights.double(), ref_losses), params)
    for i, (a, b) in enumerate(zip(grads, ref_grads, strict=True)):
        err, scale = _error(a, b), _scale(b)
        assert err <= RTOL64 * scale, (i, err, scale, case)


# -- regressions found by the properties ---------------------------------------------------------
