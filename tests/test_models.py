"""Model specs: structure, formulas of each architecture, configs, save and load."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import pinnopt as po
from pinnopt.nn import (
    ACTIVATIONS,
    AdaptiveActivation,
    FeedForwardNet,
    InputScaling,
    MLPNet,
    ModifiedMLPNet,
    SeparateNets,
    model_from_config,
)

from .exact_problems import poisson1d

BOX = ([0.0, -1.0], [2.0, 3.0])


def _x(n: int = 16, dim: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, dim, generator=g, dtype=torch.float64) * 2


def test_plain_mlp_keeps_the_recognizable_structure() -> None:
    net = po.nn.MLP(width=8, depth=3).build(2, 1, BOX)
    assert type(net) is MLPNet
    assert isinstance(net.scaling, InputScaling)
    assert [type(m) for m in net.linears] == [torch.nn.Linear] * 4
    assert isinstance(net.activation, torch.nn.Tanh)
    assert set(dict(net.named_children())) == {"scaling", "linears", "activation"}
    for spec in (
        po.nn.MLP(norm="layer"),
        po.nn.MLP(output_scale=2.0),
        po.nn.MLP(adaptive=10),
        po.nn.MLP(embedding=po.nn.FourierFeatures(8)),
        po.nn.ResidualMLP(),
        po.nn.ModifiedMLP(),
        po.nn.MLP(separate=True),
    ):
        built = spec.build(2, 2, BOX)
        assert not isinstance(built, MLPNet), spec


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_builds_and_runs(activation: str) -> None:
    net = po.nn.MLP(width=6, depth=2, activation=activation).build(2, 3, BOX).double()
    y = net(_x())
    assert y.shape == (16, 3) and torch.isfinite(y).all()


SPECS = [
    po.nn.MLP(),
    po.nn.MLP(16, 2, "sin", False),
    po.nn.MLP(width=8, depth=3, init=po.init.KaimingUniform(mode="fan_out"), norm="group", groups=2),
    po.nn.MLP(width=8, depth=2, output_scale=(2.0, 3.0), separate=True, activation="gelu"),
    po.nn.MLP(input_scaling="standardize", input_stats=((1.0, 1.0), (0.5, 2.0))),
    po.nn.ResidualMLP(width=8, depth=3, norm="layer", embedding=po.nn.FourierFeatures(4, 2.0), adaptive=10.0),
    po.nn.ModifiedMLP(width=8, depth=3, activation="silu", output_scale=5.0, init=po.init.Orthogonal()),
    po.nn.MLP(init=po.init.Transfer(layers=(0,), freeze=True, base=po.init.LeCunNormal())),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_configs_round_trip_through_json(spec) -> None:
    cfg = json.loads(json.dumps(spec.config()))
    again = model_from_config(cfg)
    assert again == spec
    torch.manual_seed(3)
    a = spec.build(2, 2, BOX)
    torch.manual_seed(3)
    b = again.build(2, 2, BOX)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert spec.n_parameters(2, 2) == sum(p.numel() for p in a.parameters())


def test_old_saved_configs_still_load() -> None:
    old = {"kind": "MLP", "width": 10, "depth": 2, "activation": "tanh", "input_scaling": True}
    assert model_from_config(old) == po.nn.MLP(width=10, depth=2)
    with pytest.raises(po.ConfigError, match="unknown model kind"):
        model_from_config({"kind": "Transformer"})


def test_modified_mlp_follows_the_published_formula() -> None:
    net = po.nn.ModifiedMLP(width=5, depth=3).build(2, 1, BOX).double()
    assert isinstance(net, ModifiedMLPNet)
    x = _x()
    z = net.input_map(x)
    lin = net.linears
    u = torch.tanh(net.encoder_u(z))
    v = torch.tanh(net.encoder_v(z))
    h = torch.tanh(lin[0](z))
    for k in (1, 2):
        gate = torch.tanh(lin[k](h))
        h = (1 - gate) * u + gate * v
    torch.testing.assert_close(net(x), lin[3](h), rtol=0, atol=1e-14)


def test_residual_mlp_adds_the_skip_connection() -> None:
    net = po.nn.ResidualMLP(width=5, depth=3, activation="sin").build(2, 1, BOX).double()
    x = _x()
    h = torch.sin(net.linears[0](net.input_map(x)))
    for k in (1, 2):
        h = h + torch.sin(net.linears[k](h))
    torch.testing.assert_close(net(x), net.linears[3](h), rtol=0, atol=1e-14)


def test_fourier_features_and_output_scale() -> None:
    spec = po.nn.MLP(
        width=6, depth=2, embedding=po.nn.FourierFeatures(features=7, sigma=3.0), output_scale=(10.0,)
    )
    net = spec.build(2, 1, BOX).double()
    assert isinstance(net, FeedForwardNet)
    b = net.embedding.B
    assert b.shape == (7, 2) and not b.requires_grad
    x = _x()
    z = 2 * math.pi * net.input_map(x) @ b.T
    emb = torch.cat([torch.cos(z), torch.sin(z)], 1)
    torch.testing.assert_close(net.embedding(net.input_map(x)), emb)
    h = emb
    for k in (0, 1):
        h = torch.tanh(net.linears[k](h))
    torch.testing.assert_close(net(x), 10.0 * net.linears[2](h), rtol=0, atol=1e-13)
    with pytest.raises(po.ConfigError, match="output_scale"):
        po.nn.MLP(output_scale=(1.0, 2.0, 3.0)).build(2, 2, BOX)
    with pytest.raises(po.ConfigError, match="sigma"):
        po.nn.FourierFeatures(sigma=-1.0)


def test_separate_networks_do_not_share_weights() -> None:
    net = po.nn.MLP(width=6, depth=2, separate=True, output_scale=(1.0, 100.0)).build(2, 2, BOX).double()
    assert isinstance(net, SeparateNets) and len(net.nets) == 2
    x = _x()
    y = net(x)
    with torch.no_grad():
        for p in net.nets[0].parameters():
            p.add_(1.0)
    y2 = net(x)
    assert not torch.allclose(y[:, 0], y2[:, 0])
    torch.testing.assert_close(y[:, 1], y2[:, 1], rtol=0, atol=0)
    assert type(po.nn.MLP(separate=True).build(2, 1, BOX)) is MLPNet  # one unknown: one plain network


def test_adaptive_activation_starts_as_the_base_and_has_a_trainable_slope() -> None:
    net = po.nn.MLP(width=6, depth=3, adaptive=10).build(2, 1, BOX).double()
    acts = [m for m in net.modules() if isinstance(m, AdaptiveActivation)]
    assert len(acts) == 3
    for a in acts:
        assert a.slope.requires_grad and float(a.slope.detach()) == pytest.approx(0.1)
    z = torch.linspace(-2, 2, 9, dtype=torch.float64)
    torch.testing.assert_close(acts[0].double()(z), torch.tanh(z))
    net(_x()).sum().backward()
    assert all(a.slope.grad is not None and float(a.slope.grad.abs()) > 0 for a in acts)
    with pytest.raises(po.ConfigError, match="adaptive"):
        po.nn.MLP(adaptive=0.5)


def test_bad_specs_are_refused_with_the_offending_value() -> None:
    with pytest.raises(po.ConfigError, match="norm='batchy'"):
        po.nn.MLP(norm="batchy")
    with pytest.raises(po.ConfigError, match="divisible"):
        po.nn.MLP(width=10, norm="group", groups=4)
    with pytest.raises(po.ConfigError, match="normalization is not offered"):
        po.nn.ModifiedMLP(norm="layer")
    with pytest.raises(po.ConfigError, match="input_scaling"):
        po.nn.MLP(input_scaling="minmax")
    with pytest.raises(po.ConfigError, match="width"):
        po.nn.ResidualMLP(width=0)


def test_solve_save_and_load_with_new_specs(tmp_path) -> None:
    spec = po.nn.ModifiedMLP(width=8, depth=2, output_scale=1.0, init=po.init.KaimingNormal())
    result = po.solve(
        poisson1d(),
        model=spec,
        phases=[po.optim.Adam(steps=20, lr=1e-2)],
        collocation=po.Collocation(interior=32, boundary=1),
        log_every=10,
    )
    assert isinstance(result.model.net, ModifiedMLPNet)
    loaded = po.Result.load(result.save(tmp_path / "m.pt"))
    pts = np.linspace(-1, 1, 7)
    np.testing.assert_array_equal(loaded.predict(pts)["u"], result.predict(pts)["u"])
    assert model_from_config(loaded.config["model"]) == spec
