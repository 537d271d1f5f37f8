"""The initialization subsystem: documented weight statistics, gains, warnings, configs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate

import pinnopt as po
from pinnopt.nn import init
from pinnopt.nn.activations import ACTIVATIONS, GAINS

SHAPES = [(64, 3), (200, 200), (50, 400), (400, 50)]  # (fan_out, fan_in)

NORMALS = [
    (init.RandomNormal(sigma=0.3), lambda fi, fo: 0.3),
    (init.GlorotNormal(), lambda fi, fo: math.sqrt(2 / (fi + fo))),
    (init.GlorotNormal(gain=2.0), lambda fi, fo: 2 * math.sqrt(2 / (fi + fo))),
    (init.KaimingNormal(), lambda fi, fo: (5 / 3) / math.sqrt(fi)),  # tanh
    (init.KaimingNormal(mode="fan_out"), lambda fi, fo: (5 / 3) / math.sqrt(fo)),
    (init.LeCunNormal(), lambda fi, fo: 1 / math.sqrt(fi)),
]
UNIFORMS = [
    (init.RandomUniform(sigma=0.3), lambda fi, fo: 0.3),
    (init.GlorotUniform(), lambda fi, fo: math.sqrt(2 / (fi + fo))),
    (init.KaimingUniform(), lambda fi, fo: (5 / 3) / math.sqrt(fi)),
    (init.LeCunUniform(), lambda fi, fo: 1 / math.sqrt(fi)),
]


def _sample(scheme: init.Initializer, shape: tuple[int, int], activation: str = "tanh") -> torch.Tensor:
    w = torch.empty(shape, dtype=torch.float64)
    scheme.fill_(w, activation, torch.Generator().manual_seed(7))
    return w


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("scheme", "formula"), NORMALS + UNIFORMS, ids=lambda v: getattr(v, "kind", ""))
def test_sampled_statistics_match_the_documented_formula(scheme, formula, shape) -> None:
    fan_out, fan_in = shape
    std = formula(fan_in, fan_out)
    assert scheme.std(fan_in, fan_out, "tanh") == pytest.approx(std, rel=1e-12)
    w = _sample(scheme, shape)
    n = w.numel()
    # sampling tolerances: 5 standard errors of the mean and of the standard deviation
    assert abs(float(w.mean())) < 5 * std / math.sqrt(n)
    assert float(w.std()) == pytest.approx(std, abs=5 * std / math.sqrt(2 * n))
    if scheme in [s for s, _ in UNIFORMS]:
        bound = math.sqrt(3) * std
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.95 * bound


@pytest.mark.parametrize("shape", SHAPES)
def test_orthogonal_rows_or_columns_are_orthonormal(shape) -> None:
    scheme = init.Orthogonal(gain=1.5)
    w = _sample(scheme, shape)
    fan_out, fan_in = shape
    gram = w @ w.T if fan_out <= fan_in else w.T @ w
    np.testing.assert_allclose(gram.numpy(), 1.5**2 * np.eye(min(shape)), atol=1e-10)
    assert float(w.std()) == pytest.approx(scheme.std(fan_in, fan_out), rel=0.05)


def test_kaiming_gains_agree_with_torch_and_the_second_moment_rule() -> None:
    for name in ("linear", "sigmoid", "tanh", "relu", "selu"):
        assert init.gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-12)
    fns = {
        "sin": np.sin,
        "gelu": lambda z: z * 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2))),
        "silu": lambda z: z / (1 + np.exp(-z)),
        "softplus": lambda z: np.log1p(np.exp(z)),
    }
    for name, f in fns.items():
        m2 = integrate.quad(lambda z, f=f: f(z) ** 2 * np.exp(-z * z / 2) / math.sqrt(2 * math.pi), -30, 30)
        assert GAINS[name] == pytest.approx(1 / math.sqrt(m2[0]), rel=1e-6)
    assert set(ACTIVATIONS) <= set(GAINS)
    relu = init.KaimingNormal()
    assert relu.std(100, 10, "relu") == pytest.approx(math.sqrt(2) / 10)
    assert relu.std(100, 10, "sigmoid") == pytest.approx(1 / 10)


def test_gain_table_extends_per_scheme_without_global_mutation() -> None:
    scheme = init.KaimingNormal(extra_gains={"mine": 3.0, "tanh": 1.0})
    assert scheme.std(9, 9, "mine") == pytest.approx(1.0)
    assert scheme.std(9, 9, "tanh") == pytest.approx(1 / 3)
    assert init.KaimingNormal().std(9, 9, "tanh") == pytest.approx(5 / 9)
    with pytest.raises(po.ConfigError, match="no initialization gain"):
        init.KaimingNormal().std(9, 9, "mine")
    with pytest.raises(TypeError):
        GAINS["mine"] = 1.0  # type: ignore[index]
    assert init.KaimingNormal(gain=0.5).std(4, 1, "relu") == pytest.approx(0.25)


def test_zero_init_warns_and_leaves_a_symmetric_network() -> None:
    with pytest.warns(po.PinnoptWarning, match="same gradient"):
        net = po.nn.MLP(width=8, depth=2, init=init.Zero()).build(1, 1, ([0.0], [1.0]))
    assert all(float(p.detach().abs().max()) == 0 for p in net.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        po.nn.MLP(width=8, depth=2, init=init.GlorotUniform()).build(1, 1, ([0.0], [1.0]))


def test_schemes_apply_to_every_linear_layer_with_zero_biases() -> None:
    spec = po.nn.MLP(width=300, depth=2, activation="relu", init=init.KaimingNormal())
    net = spec.build(2, 1)
    for layer in net.linears:
        _, fan_in = layer.weight.shape
        assert float(layer.bias.detach().abs().max()) == 0
        if layer.weight.numel() > 10_000:
            assert float(layer.weight.detach().std()) == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)


def test_scheme_configs_round_trip_and_bad_values_are_refused() -> None:
    schemes = [s for s, _ in NORMALS + UNIFORMS] + [
        init.Orthogonal(2.0),
        init.Zero(),
        init.KaimingUniform(gain=None, mode="fan_out", extra_gains={"a": 2.0}),
        init.Transfer(layers=(0, "linears.1"), freeze=True, base=init.LeCunNormal()),
    ]
    for s in schemes:
        assert init.initializer_from_config(s.config()) == s
    with pytest.raises(po.ConfigError, match="sigma"):
        init.RandomNormal(sigma=0)
    with pytest.raises(po.ConfigError, match="mode"):
        init.KaimingNormal(mode="fan_avg")
    with pytest.raises(po.ConfigError, match="unknown initialization"):
        init.initializer_from_config({"kind": "Nope"})
    with pytest.raises(po.ConfigError, match="init"):
        po.nn.MLP(init="glorot")  # type: ignore[arg-type]
