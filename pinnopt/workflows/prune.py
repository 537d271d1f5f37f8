"""Magnitude pruning of a trained network, short fine-tuning, and the error-versus-sparsity table.

Pruning zeroes the Linear weights of smallest magnitude (biases are kept) and keeps them at
zero while fine-tuning: a gradient hook multiplies each pruned weight's gradient by its mask,
so gradient methods (Adam, SGD without weight decay) and L-BFGS (whose directions are
combinations of masked gradients) never move a pruned weight.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..compile.hard import HardConstraints
from ..compile.stage import compile_problem
from ..errors import ConfigError
from ..nn.initializers import linear_layers
from ..result import Result
from ..train import Adam, Trainer

if TYPE_CHECKING:  # pragma: no cover
    from ..domain.sampling import Collocation
    from ..result import Result
    from ..train import Phase

SCOPES = ("global", "layer")


def magnitude_masks(net: nn.Module, sparsity: float, *, scope: str = "global") -> dict[str, torch.Tensor]:
    """Boolean keep-masks for the weights of every Linear layer of ``net``.

    Args:
        sparsity: the fraction of weights to remove, in ``[0, 1)``.
        scope: ``"global"`` ranks all weights together; ``"layer"`` removes the same
            fraction from every layer.
    Returns:
        ``{weight name: mask}`` with ``True`` for kept weights.
    """
    if not isinstance(sparsity, (int, float)) or not 0 <= sparsity < 1:
        raise ConfigError(f"sparsity={sparsity!r}: expected a fraction in [0, 1)")
    if scope not in SCOPES:
        raise ConfigError(f"scope={scope!r}: expected one of {SCOPES}")
    names = {id(m): n for n, m in net.named_modules()}
    layers = linear_layers(net)
    weights = {f"{names[id(m)]}.weight": m.weight.detach() for m in layers}
    if not weights:
        raise ConfigError("magnitude pruning: the network has no Linear layers")

    def keep(values: torch.Tensor) -> torch.Tensor:
        flat = values.abs().flatten()
        k = round(sparsity * flat.numel())
        if k == 0:
            return torch.ones_like(values, dtype=torch.bool)
        order = torch.argsort(flat, stable=True)
        mask = torch.ones_like(flat, dtype=torch.bool)
        mask[order[:k]] = False
        return mask.view_as(values)

    if scope == "layer":
        return {k: keep(w) for k, w in weights.items()}
    flat = keep(torch.cat([w.flatten() for w in weights.values()]))
    out, start = {}, 0
    for k, w in weights.items():
        out[k] = flat[start : start + w.numel()].view_as(w)
        start += w.numel()
    return out


def apply_masks(net: nn.Module, masks: dict[str, torch.Tensor]) -> list[Any]:
    """Zero the pruned weights of ``net`` and keep them at zero; returns the hook handles."""
    params = dict(net.named_parameters())
    handles = []
    for name, mask in masks.items():
        if name not in params:
            raise ConfigError(f"pruning mask for unknown parameter {name!r}")
        p = params[name]
        m = mask.to(device=p.device, dtype=p.dtype)
        with torch.no_grad():
            p.mul_(m)
        handles.append(p.register_hook(lambda g, m=m: g * m))
    return handles


def sparsity_of(net: nn.Module) -> float:
    """The fraction of exactly-zero weights among the Linear weights of ``net``."""
    ws = [m.weight.detach() for m in linear_layers(net)]
    total = sum(w.numel() for w in ws)
    return sum(int((w == 0).sum()) for w in ws) / total


def prune_and_finetune(
    result: Result,
    sparsities: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95),
    *,
    phases: Sequence[Phase] | None = None,
    scope: str = "global",
    collocation: Collocation | None = None,
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """Prune copies of a solved model at several sparsities, fine-tune each, validate.

    Args:
        result: a solved :class:`pinnopt.Result` whose problem has an exact solution.
        sparsities: fractions of Linear weights removed.
        phases: fine-tuning phases (default ``Adam(steps=300, lr=1e-3)``).
        scope: ``"global"`` or ``"layer"`` magnitude ranking.
        collocation, seed: the fine-tuning points (default: as :func:`pinnopt.solve`,
            with the result's seed).
    Returns:
        One row per sparsity (a first row at sparsity 0 for the unpruned model):
        ``sparsity`` (measured), ``nonzero`` weights, ``rel_l2_pruned`` (max over unknowns,
        before fine-tuning), ``rel_l2`` (after), ``steps``.
    """
    problem = result.problem
    if problem is None:
        raise ConfigError(
            "prune_and_finetune needs a result with its problem (Result.load(path, problem=...))"
        )
    phases = list(phases) if phases is not None else [Adam(steps=300, lr=1e-3)]
    names = result.config.get("hard_constraints") or []
    with torch.random.fork_rng(devices=[]):
        compiled = compile_problem(
            problem,
            collocation=collocation,
            hard_constraints=HardConstraints(only=names) if names else False,
            dtype=result.dtype,
            device=result.device,
            seed=int(result.config.get("seed", 0)) if seed is None else seed,
        )
    points, objective = compiled.points, compiled.objective

    def error(model: nn.Module) -> float:
        v = Result(problem, model, None, result.config).validate()  # type: ignore[arg-type]
        return max(v.rel_l2.values())

    n_weights = sum(m.weight.numel() for m in linear_layers(result.model.net))
    base = error(result.model)
    rows = [{"sparsity": 0.0, "nonzero": n_weights, "rel_l2_pruned": base, "rel_l2": base, "steps": 0}]
    for s in sparsities:
        model = copy.deepcopy(result.model)
        handles = apply_masks(model.net, magnitude_masks(model.net, s, scope=scope))
        before = error(model)
        outcome = Trainer(model, objective, points, phases, log_every=max(1, phases[0].steps)).run()
        for h in handles:
            h.remove()
        measured = sparsity_of(model.net)
        rows.append(
            {
                "sparsity": measured,
                "nonzero": round((1 - measured) * n_weights),
                "rel_l2_pruned": before,
                "rel_l2": error(model),
                "steps": outcome.steps,
            }
        )
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`prune_and_finetune` as a plain-text table."""
    lines = [f"{'sparsity':>8} {'nonzero':>8} {'rel L2 pruned':>14} {'rel L2 tuned':>13} {'steps':>6}"]
    for r in rows:
        lines.append(
            f"{r['sparsity']:8.1%} {r['nonzero']:8d} {r['rel_l2_pruned']:14.3e} "
            f"{r['rel_l2']:13.3e} {r['steps']:6d}"
        )
    return "\n".join(lines)
