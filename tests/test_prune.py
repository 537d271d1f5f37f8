"""Magnitude pruning: masks, pruned weights staying zero in fine-tuning, the sparsity table."""

from __future__ import annotations

import pytest
import torch

import pinnopt as po
from pinnopt.workflows.prune import (
    apply_masks,
    format_table,
    magnitude_masks,
    prune_and_finetune,
    sparsity_of,
)

from .exact_problems import poisson1d


def test_masks_remove_the_smallest_weights() -> None:
    net = po.nn.MLP(width=10, depth=2).build(1, 1)
    masks = magnitude_masks(net, 0.6)
    weights = torch.cat([m.weight.detach().abs().flatten() for m in net.linears])
    kept = torch.cat([masks[f"linears.{i}.weight"].flatten() for i in range(3)])
    assert abs(float((~kept).double().mean()) - 0.6) < 0.01
    assert float(weights[~kept].max()) <= float(weights[kept].min())
    per_layer = magnitude_masks(net, 0.5, scope="layer")
    for i in range(3):
        m = per_layer[f"linears.{i}.weight"]
        assert abs(float((~m).double().mean()) - 0.5) <= 1 / m.numel() + 1e-12
    with pytest.raises(po.ConfigError, match="sparsity"):
        magnitude_masks(net, 1.0)


@pytest.mark.parametrize("phase", [po.optim.Adam(steps=15, lr=1e-2), po.optim.LBFGS(steps=15)])
def test_pruned_weights_stay_zero_while_fine_tuning(phase) -> None:
    problem = poisson1d()
    result = po.solve(
        problem,
        model=po.nn.MLP(width=10, depth=2),
        phases=[po.optim.Adam(steps=20)],
        collocation=po.Collocation(32, 1),
    )
    net = result.model.net
    handles = apply_masks(net, magnitude_masks(net, 0.7))
    zero = {n: (p == 0).clone() for n, p in net.named_parameters() if n.endswith("weight")}
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    from pinnopt.compile.assemble import build_objective, sample_points

    points = sample_points(
        problem, po.Collocation(32, 1), torch.Generator().manual_seed(0), torch.float64, torch.device("cpu")
    )
    po.train.Trainer(result.model, build_objective(problem), points, [phase]).run()
    for n, p in net.named_parameters():
        if n in zero:
            assert bool((p[zero[n]] == 0).all()), n
    assert any(not torch.equal(p, before[n]) for n, p in net.named_parameters())
    assert sparsity_of(net) >= 0.7 - 0.01
    for h in handles:
        h.remove()


def test_prune_and_finetune_reports_error_versus_sparsity() -> None:
    result = po.solve(
        poisson1d(),
        model=po.nn.MLP(width=16, depth=2),
        phases=[po.optim.Adam(steps=200, lr=1e-2), po.optim.LBFGS(steps=200)],
        collocation=po.Collocation(64, 1),
    )
    rows = prune_and_finetune(
        result, (0.5, 0.9), phases=[po.optim.Adam(steps=50, lr=1e-3)], collocation=po.Collocation(64, 1)
    )
    assert [round(r["sparsity"], 2) for r in rows] == [0.0, 0.5, 0.9]
    dense = rows[0]["rel_l2"]
    assert dense < 1e-2
    assert rows[2]["rel_l2_pruned"] > 10 * dense  # removing 90% of the weights hurts ...
    assert rows[2]["rel_l2"] < rows[2]["rel_l2_pruned"]  # ... and fine-tuning repairs part of it
    assert "sparsity" in format_table(rows)
