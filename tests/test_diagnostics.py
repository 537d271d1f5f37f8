"""Initialization diagnostics at depth 10: vanishing, exploding, saturated, and stable."""

from __future__ import annotations

import math

import pytest
import torch

import pinnopt as po
from pinnopt.validate.diagnostics import diagnose, diagnose_network, plot_reports

from .exact_problems import poisson1d

CASES = [  # (activation, sigma * sqrt(fan_in), expected flags)
    ("relu", 0.1, ("vanishing",)),
    ("tanh", 0.1, ("vanishing",)),
    ("relu", 3.0, ("exploding",)),
    ("tanh", 10.0, ("saturated",)),
    ("relu", math.sqrt(2), ()),
    ("tanh", 5 / 3, ()),
]


@pytest.fixture(scope="module")
def reports() -> dict[str, po.nn.diagnostics.InitReport]:
    problem = poisson1d()
    out = {}
    for act, gain, _ in CASES:
        spec = po.nn.MLP(width=32, depth=10, activation=act, init=po.init.KaimingNormal(gain=gain))
        out[f"{act} {gain:.3g}"] = diagnose(
            problem, spec, collocation=po.Collocation(interior=128, boundary=1)
        )
    return out


@pytest.mark.parametrize(("act", "gain", "flags"), CASES)
def test_depth_10_flags(reports, act: str, gain: float, flags: tuple[str, ...]) -> None:
    rep = reports[f"{act} {gain:.3g}"]
    assert rep.flags == flags, rep.table()
    assert len(rep.layers) == 10 and rep.n_points == 130
    assert len(rep.grad_norms) == 11 and all(math.isfinite(g) for g in rep.grad_norms.values())
    if act == "relu":
        assert all(s.saturation is None for s in rep.layers)


def test_the_stable_gain_is_really_the_default_kaiming_gain(reports) -> None:
    spec = po.nn.MLP(width=32, depth=10, activation="relu", init=po.init.KaimingNormal())
    rep = diagnose(poisson1d(), spec, collocation=po.Collocation(interior=128, boundary=1))
    assert rep.ratios == reports["relu 1.41"].ratios


def test_report_is_serializable_and_the_plot_is_written(reports, tmp_path) -> None:
    rep = reports["tanh 10"]
    d = rep.to_dict()
    assert d["flags"] == ["saturated"] and len(d["layers"]) == 10
    assert "saturated" in rep.table()
    path = plot_reports(reports, tmp_path / "init.png", title="depth-10 MLPs")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnose_network_leaves_the_network_untouched() -> None:
    net = po.nn.MLP(width=8, depth=3, norm="batch").build(1, 1, ([-1.0], [1.0])).double()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rep = diagnose_network(net, torch.linspace(-1, 1, 20, dtype=torch.float64)[:, None])
    assert len(rep.layers) == 3
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    sep = po.nn.MLP(width=8, depth=3, separate=True).build(1, 2, ([-1.0], [1.0])).double()
    rep2 = diagnose_network(sep, torch.linspace(-1, 1, 20, dtype=torch.float64)[:, None])
    assert {s.network for s in rep2.layers} == {0, 1} and len(rep2.ratios) == 2
    with pytest.raises(po.ConfigError, match="band"):
        diagnose_network(net, torch.zeros(3, 1, dtype=torch.float64), band=(10, 1))
