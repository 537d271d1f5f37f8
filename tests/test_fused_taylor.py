"""The fused Taylor node (orders <= 2), merged point sets, fused Adam and the compiled objective.

Every fused result is compared with the unfused Taylor engine and with nested reverse-mode
autograd, values and parameter gradients, to round-off in float64.
"""

from __future__ import annotations

import math
import warnings

import pytest
import sympy as sp
import torch
from torch import nn

import pinnopt as po
from pinnopt.errors import ConfigError, PinnoptWarning
from pinnopt.losses import Objective, PointSet
from pinnopt.nn import PINN, MLPNet
from pinnopt.nn.taylor import AutoEngine, TaylorEngine
from pinnopt.nn.taylor.fused_layout import FusedLayout
from pinnopt.symbolic import AutogradEngine, DerivativePlan, Field

RTOL = 1e-12


def _model(dim: int, activation: str = "tanh", n_out: int = 2, depth: int = 3) -> PINN:
    net = MLPNet(dim, n_out, 9, depth, activation, [-1.0] * dim, [2.0] * dim).double()
    for layer in net.linears:  # nonzero biases: no derivative vanishes by symmetry
        nn.init.normal_(layer.bias, std=0.3)
    return PINN(net, [f"u{i}" for i in range(n_out)])


def _plan(unknowns: list[str], orders: list[tuple[int, ...]]) -> DerivativePlan:
    return DerivativePlan.build({Field(u, o) for u in unknowns for o in orders})


def _requests(dim: int, unknowns: list[str], wanted: list[tuple[int, ...]]) -> dict:
    """Two sets with the same channels, one with fewer, two value-only sets."""
    g = torch.Generator().manual_seed(3)

    def pts(n: int) -> torch.Tensor:
        return torch.rand(n, dim, generator=g, dtype=torch.float64) * 3 - 1

    zero = (0,) * dim
    return {
        "a": (pts(11), _plan(unknowns, wanted)),
        "b": (pts(4), _plan(unknowns, [zero])),
        "c": (pts(7), _plan(unknowns, wanted)),
        "d": (pts(3), _plan(unknowns[:1], [zero])),
        "e": (pts(5), _plan(unknowns[:1], wanted[:1])),
    }


def _loss(fields: dict, weights: dict) -> torch.Tensor:
    return sum((fields[k][f] * w).sum() for (k, f), w in weights.items())  # type: ignore[return-value]


CASES = [
    ("tanh", 2, [(0, 1), (1, 0), (2, 0)]),  # Burgers' channels
    ("tanh", 2, [(2, 0), (0, 2)]),  # Poisson's
    ("tanh", 3, [(2, 0, 0), (1, 1, 0), (0, 1, 1), (0, 0, 1)]),  # mixed partials
    ("tanh", 1, [(1,)]),
    ("sin", 2, [(1, 1), (2, 0)]),
    ("silu", 2, [(0, 2), (1, 0)]),
    ("gelu", 1, [(2,)]),
    ("softplus", 2, [(1, 1)]),
    ("tanh", 2, [(3, 0), (1, 2)]),  # orders 3 and 4, mixed
    ("tanh", 2, [(4, 0), (2, 2), (0, 1)]),
    ("sigmoid", 2, [(2, 1), (0, 2)]),
    ("sin", 2, [(2, 2), (1, 0)]),
    ("gelu", 2, [(3, 1)]),
    ("tanh", 3, [(0, 0, 2), (0, 1, 1)]),  # first-order channels of axes 1 and 2 only
    ("sigmoid", 2, [(0, 3)]),
]

ACTIVATIONS = ["tanh", "sigmoid", "sin", "silu", "gelu", "softplus"]


def _through_fused_node(t: torch.Tensor) -> bool:
    """Whether ``t`` was computed by the fused node (searched a few nodes up its graph)."""
    todo, seen = [t.grad_fn], 0
    while todo and seen < 20:
        fn = todo.pop()
        seen += 1
        if fn is None:
            continue
        if "FusedTaylor" in type(fn).__name__:
            return True
        todo.extend(f for f, _ in fn.next_functions)
    return False


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_fused_node_matches_autograd_for_every_activation_and_order(activation: str, order: int) -> None:
    """The fields and their parameter gradients agree with nested autograd to 1e-12 (float64),
    and the fields did come from the fused node."""
    model = _model(2, activation, n_out=1)
    unknowns = list(model.unknowns)
    wanted = [(order, 0), (order - 1, 1), (0, 1)]
    g = torch.Generator().manual_seed(order)
    x = torch.rand(13, 2, generator=g, dtype=torch.float64) * 3 - 1
    xv = torch.rand(4, 2, generator=g, dtype=torch.float64) * 3 - 1
    req = {"d": (x, _plan(unknowns, wanted)), "v": (xv, _plan(unknowns, [(0, 0)]))}
    fused = TaylorEngine().evaluate_sets(model, req, unknowns)
    ref = {k: AutogradEngine().evaluate(model, p, plan, unknowns) for k, (p, plan) in req.items()}
    weights = {
        (k, f): torch.randn(len(p), generator=g, dtype=torch.float64)
        for k, (p, plan) in req.items()
        for f in plan.wanted
    }
    for k, f in weights:
        assert _through_fused_node(fused[k][f])
        scale = ref[k][f].abs().max().item()
        assert scale > 1e-8, (k, f)
        assert (fused[k][f] - ref[k][f]).abs().max().item() <= RTOL * scale, (k, f)
    params = list(model.parameters())
    grads = torch.autograd.grad(_loss(fused, weights), params)
    ref_grads = torch.autograd.grad(_loss(ref, weights), params)
    for a, b in zip(grads, ref_grads, strict=True):
        assert (a - b).abs().max().item() <= RTOL * b.abs().max().item()


@pytest.mark.parametrize(("activation", "dim", "wanted"), CASES)
def test_fused_sets_match_unfused_taylor_and_autograd(activation: str, dim: int, wanted: list) -> None:
    model = _model(dim, activation)
    unknowns = list(model.unknowns)
    req = _requests(dim, unknowns, wanted)
    fused = TaylorEngine().evaluate_sets(model, req, unknowns)
    refs = {
        "taylor": {k: TaylorEngine(fused=False).evaluate(model, x, p, unknowns) for k, (x, p) in req.items()},
        "autograd": {k: AutogradEngine().evaluate(model, x, p, unknowns) for k, (x, p) in req.items()},
    }
    g = torch.Generator().manual_seed(5)
    weights = {
        (k, f): torch.randn(len(x), generator=g, dtype=torch.float64)
        for k, (x, p) in req.items()
        for f in p.wanted
    }
    params = list(model.parameters())
    grads = torch.autograd.grad(_loss(fused, weights), params)
    for ref in refs.values():
        for (k, f), _ in weights.items():
            scale = ref[k][f].abs().max().item()
            assert scale > 1e-8, (k, f)
            assert (fused[k][f] - ref[k][f]).abs().max().item() <= RTOL * scale
        ref_grads = torch.autograd.grad(_loss(ref, weights), params)
        for a, b in zip(grads, ref_grads, strict=True):
            assert (a - b).abs().max().item() <= 1e-11 * b.abs().max().item()


def test_layout_of_a_plan_and_its_limits() -> None:
    engine = TaylorEngine()
    burgers = engine.taylor_plan(_plan(["u"], [(0, 1), (1, 0), (2, 0)]), 2)
    assert FusedLayout.from_plan(burgers) == FusedLayout((0, 1), (((2, ((1, (0, 0)),)),),), 2)
    mixed = engine.taylor_plan(_plan(["u"], [(1, 1)]), 2)
    assert FusedLayout.from_plan(mixed) == FusedLayout((0, 1), (((2, ((1, (0, 1)),)),),), 2)
    third = FusedLayout.from_plan(engine.taylor_plan(_plan(["u"], [(3,)]), 1))
    assert third == FusedLayout(
        (0,), (((2, ((1, (0, 0)),)),), ((2, ((3, (0, 1)),)), (3, ((1, (0, 0, 0)),)))), 3
    )
    assert FusedLayout.from_plan(engine.taylor_plan(_plan(["u"], [(5, 0)]), 2)) is None


def test_higher_orders_and_points_with_gradients_take_the_unfused_path() -> None:
    model = _model(2)
    unknowns = list(model.unknowns)
    x = torch.rand(6, 2, dtype=torch.float64)
    xg = x.clone().requires_grad_(True)
    req = {"third": (x, _plan(unknowns, [(3, 0)])), "grad": (xg, _plan(unknowns, [(2, 0)]))}
    got = TaylorEngine().evaluate_sets(model, req, unknowns)
    for k, (pts, plan) in req.items():
        ref = AutogradEngine().evaluate(model, pts, plan, unknowns)
        for f in plan.wanted:
            assert torch.allclose(got[k][f], ref[f], rtol=1e-10, atol=1e-12)
    # The points' gradient is available because those points were not fused.
    (gx,) = torch.autograd.grad(got["grad"][Field("u0", (2, 0))].sum(), xg)
    assert gx.abs().max() > 0


def test_the_fused_node_is_differentiable_once() -> None:
    model = _model(2)
    x = torch.rand(5, 2, dtype=torch.float64)
    fields = TaylorEngine().evaluate(model, x, _plan(["u0"], [(2, 0)]), model.unknowns)
    w = model.net.linears[0].weight
    (g,) = torch.autograd.grad(fields[Field("u0", (2, 0))].sum(), w)  # once: fine
    assert g.abs().max() > 0
    with pytest.raises(RuntimeError, match="differentiable once"):  # a graph for a second: refused
        torch.autograd.grad(fields[Field("u0", (2, 0))].sum(), w, create_graph=True)
    # Without fusion the same second derivative exists (the documented way out).
    fields = TaylorEngine(fused=False).evaluate(model, x, _plan(["u0"], [(2, 0)]), model.unknowns)
    (g,) = torch.autograd.grad(fields[Field("u0", (2, 0))].sum(), w, create_graph=True)
    assert torch.autograd.grad(g.sum(), w)[0].abs().max() > 0


class _Counting(TaylorEngine):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, ...]] = []

    def evaluate_sets(self, model, requests, unknowns, *, create_graph=True):  # type: ignore[no-untyped-def]
        self.calls.append(tuple(requests))
        return super().evaluate_sets(model, requests, unknowns, create_graph=create_graph)

    def evaluate(self, model, points, plan, unknowns, *, create_graph=True):  # type: ignore[no-untyped-def]
        self.calls.append(("one",))
        return super().evaluate(model, points, plan, unknowns, create_graph=create_graph)


def _burgers() -> po.Problem:
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u * u.diff(x) - sp.Rational(1, 100) / sp.pi * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, -1), u, n=8),
            po.On(sp.Eq(x, 1), u, n=8),
            po.On(sp.Eq(t, 0), u + sp.sin(sp.pi * x), n=16),
        ],
    )


def _setup(engine: po.symbolic.DerivativeEngine) -> tuple[PINN, Objective, dict[str, PointSet]]:
    from pinnopt.compile.assemble import build_model, build_objective, sample_points

    problem = _burgers()
    torch.manual_seed(0)
    pinn, _ = build_model(problem, po.nn.MLP(width=10, depth=2))
    pinn = pinn.double()
    gen = torch.Generator().manual_seed(0)
    points = sample_points(problem, po.Collocation(interior=64), gen, torch.float64, torch.device("cpu"))
    return pinn, build_objective(problem, engine), points


def test_the_objective_evaluates_all_sets_in_one_engine_call_with_the_same_losses() -> None:
    engine = _Counting()
    pinn, objective, points = _setup(engine)
    _, losses = objective(pinn, points)
    assert engine.calls == [tuple(objective.plans)]  # one call for the four point sets
    ev = objective.evaluation(pinn, points)
    ev.env("t=0")
    ev.env("interior")
    assert len(engine.calls) == 2  # and each set once per evaluation
    _, ref_losses = Objective(objective.terms, objective.unknowns, AutogradEngine())(pinn, points)
    assert torch.allclose(losses, ref_losses, rtol=1e-12, atol=0)
    # An evaluation built without grouping evaluates set by set, lazily (robust views rely on it).
    lazy = po.losses.Evaluation(pinn, points, objective.plans, engine, objective.unknowns)
    lazy.env("t=0")
    assert engine.calls[2:] == [("one",)]


def test_adam_phases_use_the_fused_kernel_by_default_with_the_same_steps() -> None:
    assert po.optim.Adam(steps=1).fused is None
    with pytest.raises(ConfigError, match="fused"):
        po.optim.Adam(fused="yes")  # type: ignore[arg-type]
    params = [nn.Parameter(torch.randn(3, 2, dtype=torch.float64))]
    opt = po.optim.Adam(steps=1).make(params)
    major, minor = (int(v) for v in torch.__version__.split(".")[:2])
    assert opt.defaults["fused"] is ((major, minor) >= (2, 4) or None)
    histories = []
    for fused in (None, False):
        pinn, objective, points = _setup(AutoEngine())
        trainer = po.train.Trainer(
            pinn, objective, points, [po.optim.Adam(steps=4, fused=fused)], log_every=1
        )
        trainer.run()
        histories.append(torch.tensor(trainer.history.loss))
    assert torch.allclose(histories[0], histories[1], rtol=1e-12, atol=0)


def test_compile_option_is_checked_and_the_traced_objective_trains_identically() -> None:
    with pytest.raises(ConfigError, match="compile"):
        po.train.Trainer(*_setup(AutoEngine()), [po.optim.Adam(steps=1)], compile="fast")  # type: ignore[arg-type]
    histories = []
    for compile in (False, {"backend": "eager"}):  # traced by dynamo, no code generation: quick
        torch._dynamo.reset()
        pinn, objective, points = _setup(AutoEngine())
        trainer = po.train.Trainer(
            pinn, objective, points, [po.optim.Adam(steps=3)], log_every=1, compile=compile
        )
        trainer.run()
        histories.append(torch.tensor(trainer.history.loss))
    # Under compilation the plain Taylor operations are traced: the same losses to round-off.
    assert torch.allclose(histories[0], histories[1], rtol=1e-10, atol=0)
    assert math.isfinite(float(histories[1][-1]))


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"bogus": 1}, "no option 'bogus'"),
        ({"backend": "nonexistent"}, "backend='nonexistent'"),
        ({"backend": 3}, "backend=3"),
        ({"mode": "turbo"}, "mode='turbo'"),
        ({"mode": "default", "options": {}}, "mode or options"),
        ({"fullgraph": "yes"}, "fullgraph='yes'"),
        ({"dynamic": 1}, "dynamic=1"),
    ],
)
def test_compile_options_are_refused_by_name_before_anything_compiles(options: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=r"Runtime\(compile=") as info:
        po.Runtime(compile=options)
    assert named in str(info.value)
    with pytest.raises(ConfigError, match=r"^compile="):
        po.train.Trainer(*_setup(AutoEngine()), [po.optim.Adam(steps=1)], compile=options)


def test_valid_compile_options_pass_and_torch_refusals_become_config_errors(monkeypatch) -> None:
    valid = ({"backend": "aot_eager"}, {"backend": "eager", "fullgraph": True}, {"mode": "reduce-overhead"})
    for options in valid:
        assert po.Runtime(compile=options).compile == options
    po.Runtime(compile={"backend": lambda gm, inputs: gm})  # a callable backend is taken as it is

    def refuse(*args: object, **kw: object) -> None:
        raise RuntimeError("not on this machine")

    monkeypatch.setattr(torch, "compile", refuse)
    with pytest.raises(ConfigError, match=r"compile=True: torch\.compile refused it: not on this machine"):
        po.train.Trainer(*_setup(AutoEngine()), [po.optim.Adam(steps=1)], compile=True)


def test_compile_no_phase_uses_warns_and_is_recorded_per_phase() -> None:
    runtime = po.Runtime(progress=False, compile={"backend": "eager"})
    kw = {
        "model": po.nn.MLP(width=6, depth=1),
        "collocation": po.Collocation(interior=32),
        "runtime": runtime,
    }
    with pytest.warns(PinnoptWarning, match=r"Runtime\(compile=\{'backend': 'eager'\}\) had no effect"):
        lm = po.solve(_burgers(), phases=[po.optim.LevenbergMarquardt(1)], **kw)
    assert lm.config["compile"] == {"backend": "eager"}
    assert lm.config["compile_phases"] == {"compiled": [], "not_compiled": ["phase 0 (LevenbergMarquardt)"]}
    assert any("had no effect" in n for n in lm.config["notes"])
    # Adam(0) takes no step: nothing is traced, but the record says which phases would compile
    with warnings.catch_warnings():
        warnings.simplefilter("error", PinnoptWarning)
        mixed = po.solve(_burgers(), phases=[po.optim.Adam(0), po.optim.GaussNewton(1)], **kw)
    assert mixed.config["compile_phases"] == {
        "compiled": ["phase 0 (Adam)"],
        "not_compiled": ["phase 1 (GaussNewton)"],
    }
    assert "applies to phase 0 (Adam), not to phase 1 (GaussNewton)" in mixed.config["notes"][0]
    with pytest.warns(PinnoptWarning, match=r"^compile=True had no effect.*nothing is compiled"):
        trainer = po.train.Trainer(*_setup(AutoEngine()), [po.optim.GaussNewton(1)], compile=True)
    assert trainer._compiled is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fused_node_on_cuda_matches_the_cpu() -> None:
    """On CUDA (no buffer pool, torch's tanh) the fused fields and gradients equal the CPU's."""
    model = _model(2)
    unknowns = list(model.unknowns)
    req = _requests(2, unknowns, [(0, 1), (1, 0), (2, 0), (4, 0)])
    grads = []
    for device in ("cpu", "cuda"):
        m = model.to(device)
        r = {k: (x.to(device), p) for k, (x, p) in req.items()}
        fields = TaylorEngine().evaluate_sets(m, r, unknowns)
        loss = sum(f.square().sum() for env in fields.values() for f in env.values())
        grads.append([g.cpu() for g in torch.autograd.grad(loss, list(m.parameters()))])
    for a, b in zip(*grads, strict=True):
        assert (a - b).abs().max().item() <= 1e-10 * b.abs().max().item()


def test_relu_fields_match_autograd_through_the_fused_node() -> None:
    """ReLU: first derivatives as autograd gives them, higher ones identically zero."""
    model = _model(2, "relu", n_out=1)
    unknowns = list(model.unknowns)
    x = torch.rand(17, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3 - 1
    plan = _plan(unknowns, [(1, 0), (0, 1), (2, 0), (1, 2)])
    fused = TaylorEngine().evaluate_sets(model, {"d": (x, plan)}, unknowns)["d"]
    ref = AutogradEngine().evaluate(model, x, plan, unknowns)
    for f in plan.wanted:
        assert _through_fused_node(fused[f])
        assert torch.allclose(fused[f], ref[f], rtol=1e-12, atol=1e-14), f
    assert fused[Field("u0", (1, 0))].abs().max() > 0


def test_pooled_buffers_survive_retained_and_interleaved_graphs() -> None:
    """Per-term gradients with retain_graph=True (loss balancers) and two graphs alive at
    once give autograd's gradients: no buffer of a live graph is handed out again."""
    model = _model(2, n_out=1)
    unknowns = list(model.unknowns)
    params = list(model.parameters())
    g = torch.Generator().manual_seed(7)
    plan = _plan(unknowns, [(2, 0), (0, 1)])
    xs = [torch.rand(9, 2, generator=g, dtype=torch.float64) for _ in range(2)]
    field = Field("u0", (2, 0))
    fused = [TaylorEngine().evaluate_sets(model, {"d": (x, plan)}, unknowns)["d"] for x in xs]
    refs = [AutogradEngine().evaluate(model, x, plan, unknowns) for x in xs]
    for f, r in zip(fused, refs, strict=True):
        for loss_f, loss_r in [(f[field].square().sum(), r[field].square().sum())] * 2:
            got = torch.autograd.grad(loss_f, params, retain_graph=True)
            want = torch.autograd.grad(loss_r, params, retain_graph=True, allow_unused=True)
            want = [torch.zeros_like(p) if w is None else w for p, w in zip(params, want, strict=True)]
            for a, b in zip(got, want, strict=True):
                assert (a - b).abs().max().item() <= RTOL * max(b.abs().max().item(), 1e-300)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "sin"])
def test_layers_without_biases_match_autograd(activation: str) -> None:
    """Biases folded into the layer products (and their absence) give autograd's fields and gradients."""
    model = _model(2, activation)
    for layer in model.net.linears[::2]:  # the first, third, ... layers lose their bias
        layer.bias = None
    unknowns = list(model.unknowns)
    req = _requests(2, unknowns, [(2, 0), (1, 1), (0, 1)])
    fused = TaylorEngine().evaluate_sets(model, req, unknowns)
    ref = {k: AutogradEngine().evaluate(model, x, p, unknowns) for k, (x, p) in req.items()}
    g = torch.Generator().manual_seed(7)
    weights = {
        (k, f): torch.randn(len(x), generator=g, dtype=torch.float64)
        for k, (x, p) in req.items()
        for f in p.wanted
    }
    for k, f in weights:
        assert _through_fused_node(fused[k][f])
        assert (fused[k][f] - ref[k][f]).abs().max().item() <= RTOL * ref[k][f].abs().max().item()
    params = list(model.parameters())
    for a, b in zip(
        torch.autograd.grad(_loss(fused, weights), params),
        torch.autograd.grad(_loss(ref, weights), params),
        strict=True,
    ):
        assert (a - b).abs().max().item() <= 1e-11 * b.abs().max().item()


@pytest.mark.parametrize("activation", [*ACTIVATIONS, "relu"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("dim", [1, 2])
def test_derivatives_along_one_axis_take_the_chain_backward_and_match_autograd(
    activation: str, order: int, dim: int
) -> None:
    """Channels d1..dn of one axis (the chain backward of the fused node), the loss on the top
    order alone (the other channels' gradients are zero at the output: their terms are
    skipped) or on every order: fields and parameter gradients equal nested autograd."""
    from pinnopt.nn.taylor.fused_layout import program_of
    from pinnopt.nn.taylor.plan import TaylorPlan

    model = _model(dim, activation, n_out=1)
    unknowns = list(model.unknowns)
    axis = dim - 1  # in 2-D the second axis: the chain's one first-order channel is not axis 0
    top = tuple(order if i == axis else 0 for i in range(dim))
    every = [tuple(m if i == axis else 0 for i in range(dim)) for m in range(order + 1)]
    layout = FusedLayout.from_plan(TaylorPlan.build([top], dim))
    assert layout is not None and program_of(layout).chain
    g = torch.Generator().manual_seed(order + 10 * dim)
    x = torch.rand(17, dim, generator=g, dtype=torch.float64) * 3 - 1
    for wanted in ([top, (0,) * dim], every):
        plan = _plan(unknowns, wanted)
        fused = TaylorEngine().evaluate(model, x, plan, unknowns)
        ref = AutogradEngine().evaluate(model, x, plan, unknowns)
        weights = {("x", f): torch.randn(len(x), generator=g, dtype=torch.float64) for f in plan.wanted}
        for _, f in weights:
            assert _through_fused_node(fused[f])
            scale = ref[f].abs().max().item()
            assert (fused[f] - ref[f]).abs().max().item() <= RTOL * max(scale, 1e-300), f
        params = list(model.parameters())
        grads = torch.autograd.grad(_loss({"x": fused}, weights), params, allow_unused=True)
        ref_grads = torch.autograd.grad(_loss({"x": ref}, weights), params, allow_unused=True)
        for a, b in zip(grads, ref_grads, strict=True):
            assert (a - b).abs().max().item() <= RTOL * b.abs().max().item()
