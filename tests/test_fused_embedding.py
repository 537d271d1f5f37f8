"""Networks behind a fixed embedding (periodic, Fourier features) through the fused Taylor node:
fields and parameter gradients against nested reverse-mode autograd."""

from __future__ import annotations

import itertools

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model
from pinnopt.nn.taylor import AutoEngine, TaylorEngine, native
from pinnopt.nn.taylor.activations import default_rules
from pinnopt.nn.taylor.engine import describe_mlp
from pinnopt.symbolic import AutogradEngine, DerivativePlan, Field

x, t = sp.symbols("x t")
F64 = torch.float64
CPU = torch.device("cpu")


def _problem() -> po.Problem:
    u, v = (sp.Function(n)(x, t) for n in "uv")
    return po.Problem(
        domain=po.Interval(x, -1, 2) * po.Interval(t, 0, 0.5),
        equations=[u.diff(t) + u.diff(x, 2) - v, v.diff(t) - u],
        conditions=[po.Initial(t, u, sp.sin(x))],
    )


EMBEDDINGS = {
    "periodic": po.nn.PeriodicEmbedding(coordinates=("x",), harmonics=2),
    "periodic_both": po.nn.PeriodicEmbedding(coordinates=("x", "t"), harmonics=1),
    "fourier": po.nn.FourierFeatures(features=5, sigma=0.7),
}


def _model(embedding: str, activation: str, depth: int = 3) -> po.nn.PINN:
    torch.manual_seed(0)
    spec = po.nn.MLP(width=10, depth=depth, activation=activation, embedding=EMBEDDINGS[embedding])
    model, _ = build_model(_problem(), spec)
    return model.to(F64)


def _plan(max_order: int) -> DerivativePlan:
    orders = [o for o in itertools.product(range(max_order + 1), repeat=2) if 0 < sum(o) <= max_order]
    return DerivativePlan.build(Field(u, o) for u in "uv" for o in orders)


def _compare(model: po.nn.PINN, engine: TaylorEngine | AutoEngine, max_order: int) -> None:
    gen = torch.Generator().manual_seed(0)
    xi = torch.rand(30, 2, generator=gen, dtype=F64) * torch.tensor([3.0, 0.5], dtype=F64) + torch.tensor(
        [-1.0, 0.0]
    )
    xb = torch.rand(7, 2, generator=gen, dtype=F64)
    plan = _plan(max_order)
    values = DerivativePlan.build([Field("u", (0, 0)), Field("v", (0, 0))])
    requests = {"interior": (xi, plan), "values": (xb, values)}
    got = engine.evaluate_sets(model, requests, ("u", "v"))
    want = AutogradEngine().evaluate_sets(model, requests, ("u", "v"))
    for name, fields in want.items():
        for f, ref in fields.items():
            scale = float(ref.detach().abs().max()) + 1e-30
            assert float((got[name][f] - ref).detach().abs().max()) <= 1e-11 * scale, (name, f)
    params = [p for p in model.parameters() if p.requires_grad]
    loss_got = sum((v**2).sum() for fs in got.values() for v in fs.values())
    loss_want = sum((v**2).sum() for fs in want.values() for v in fs.values())
    for a, b in zip(
        torch.autograd.grad(loss_got, params), torch.autograd.grad(loss_want, params), strict=True
    ):
        assert float((a - b).abs().max()) <= 1e-10 * (float(b.abs().max()) + 1e-30)


@pytest.mark.parametrize("embedding", list(EMBEDDINGS))
@pytest.mark.parametrize(("activation", "max_order"), [("tanh", 4), ("sin", 3), ("silu", 2), ("sigmoid", 2)])
def test_embedded_fields_and_gradients_match_autograd(
    embedding: str, activation: str, max_order: int
) -> None:
    model = _model(embedding, activation)
    view = describe_mlp(model, default_rules())
    assert view is not None and view.embedding is not None
    _compare(model, TaylorEngine(), max_order)


def test_embedded_without_native_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINNOPT_NATIVE", "0")
    native.reset()
    try:
        _compare(_model("periodic", "tanh"), AutoEngine(), 3)
    finally:
        monkeypatch.delenv("PINNOPT_NATIVE")
        native.reset()


def test_one_hidden_layer_and_the_unfused_engine_fall_back_to_autograd() -> None:
    _compare(_model("periodic", "tanh", depth=1), TaylorEngine(), 2)
    _compare(_model("fourier", "tanh"), TaylorEngine(fused=False), 2)  # autograd: no unfused embedding


def test_trainable_fourier_features_and_norms_are_not_recognized() -> None:
    torch.manual_seed(0)
    trainable = po.nn.MLP(width=8, depth=2, embedding=po.nn.FourierFeatures(features=4, trainable=True))
    normed = po.nn.MLP(width=8, depth=2, norm="layer", embedding=EMBEDDINGS["periodic"])
    for spec in (trainable, normed):
        model, _ = build_model(_problem(), spec)
        assert describe_mlp(model, default_rules()) is None


def test_auto_engine_resolves_taylor_for_an_embedded_network() -> None:
    model = _model("periodic", "tanh")
    auto = AutoEngine()
    assert auto.resolve(model, _plan(2)) is auto.taylor


def test_the_reported_engine_is_the_one_that_runs() -> None:
    """Embedded networks take Taylor mode only through the fused node: without it (fused=False,
    orders above 4) the engine reports and runs its fallback."""
    model = _model("periodic", "tanh")
    assert TaylorEngine().applies(model, _plan(2))
    assert not TaylorEngine(fused=False).applies(model, _plan(2))
    order5 = DerivativePlan.build([Field("u", (5, 0))])
    assert not TaylorEngine().applies(model, order5)
    auto = AutoEngine()
    assert auto.resolve(model, order5) is auto.autograd


def test_periodic_embedding_takes_an_empty_batch() -> None:
    model = _model("periodic", "tanh")
    assert model(torch.zeros(0, 2, dtype=F64)).shape == (0, 2)
