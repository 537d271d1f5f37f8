"""Transfer learning: copying saved weights (all or chosen layers), freezing, warm starts."""

from __future__ import annotations

import pytest
import torch

import pinnopt as po
from benchmarks.transfer import run
from pinnopt.nn.init import Transfer

from .exact_problems import poisson1d

BOX = ([0.0, 0.0], [1.0, 1.0])


def _source_net() -> torch.nn.Module:
    torch.manual_seed(11)
    return po.nn.MLP(width=8, depth=2, embedding=po.nn.FourierFeatures(4)).build(2, 1, BOX)


def test_transfer_copies_everything_but_the_problem_specific_scaling() -> None:
    src = _source_net()
    net = po.nn.MLP(
        width=8, depth=2, embedding=po.nn.FourierFeatures(4), init=Transfer(src.state_dict())
    ).build(2, 1, ([5.0, 5.0], [6.0, 9.0]))
    for k, v in src.state_dict().items():
        if k.startswith("input_map"):
            assert not torch.equal(v, net.state_dict()[k])  # the new problem's box
        else:
            assert torch.equal(v, net.state_dict()[k]), k
    assert all(p.requires_grad for p in net.parameters())


def test_transfer_of_chosen_layers_with_freezing_from_a_result_file(tmp_path) -> None:
    result = po.solve(
        poisson1d(),
        model=po.nn.MLP(width=8, depth=2),
        phases=[po.optim.Adam(steps=5)],
        collocation=po.Collocation(interior=16, boundary=1),
    )
    path = result.save(tmp_path / "src.pt")
    spec = po.nn.MLP(width=8, depth=2, init=Transfer(path, layers=(0, -1), freeze=True))
    torch.manual_seed(0)
    net = spec.build(1, 1, ([-1.0], [1.0])).double()
    src = result.model.net
    assert torch.equal(net.linears[0].weight, src.linears[0].weight)
    assert torch.equal(net.linears[2].bias, src.linears[2].bias)
    assert not torch.equal(net.linears[1].weight, src.linears[1].weight)
    frozen = {n for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {"linears.0.weight", "linears.0.bias", "linears.2.weight", "linears.2.bias"}
    assert spec.config()["init"]["source"] == str(path)
    # a frozen layer does not move in training
    trained = po.solve(
        poisson1d(), model=spec, phases=[po.optim.Adam(steps=5)], collocation=po.Collocation(16, 1)
    ).model.net
    assert torch.equal(trained.linears[0].weight, src.linears[0].weight)
    assert not torch.equal(trained.linears[1].weight, net.linears[1].weight)


def test_transfer_refuses_mismatched_or_missing_sources(tmp_path) -> None:
    src = po.nn.MLP(width=8, depth=2).build(1, 1).state_dict()
    with pytest.raises(po.CheckpointError, match="shape"):
        po.nn.MLP(width=9, depth=2, init=Transfer(src)).build(1, 1)
    with pytest.raises(po.CheckpointError, match="lacks"):
        po.nn.MLP(width=8, depth=3, init=Transfer(src)).build(1, 1)
    with pytest.raises(po.CheckpointError, match="does not exist"):
        po.nn.MLP(init=Transfer(tmp_path / "nope.pt")).build(1, 1)
    with pytest.raises(po.ConfigError, match="out of range"):
        po.nn.MLP(width=8, depth=2, init=Transfer(src, layers=(5,))).build(1, 1)
    net = po.nn.MLP(width=8, depth=3, init=Transfer(src, layers=(0, 1))).build(1, 1)  # matching layers only
    assert torch.equal(net.linears[1].weight, src["linears.1.weight"])


def test_warm_start_reaches_the_cold_final_error_in_fewer_steps() -> None:
    out = run(source_steps=300, steps=300, lr=3e-3, width=16, depth=2, interior=128, boundary=16, every=20)
    reach = out["steps_to_cold_final"]
    assert out["warm_initial_rel_l2"] < 0.5 * out["cold_initial_rel_l2"]
    assert reach["warm"] is not None and reach["warm"] <= 0.5 * reach["cold"], out
