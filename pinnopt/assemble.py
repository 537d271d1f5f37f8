"""Turn a declared problem into what the trainer needs: model, point sets and objective."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .constraints import constraint_points, constraint_terms
from .domain import Interior
from .domain.sampling import Collocation
from .errors import ConfigError
from .losses import Objective, PointSet, ResidualTerm, Term
from .nn import MLP, PINN, ModelSpec
from .problem import Problem
from .robust import Group, Parametric
from .robust.solving import build_terms
from .symbolic import DerivativeEngine


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` means CUDA when available, else CPU; otherwise check the request."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} was requested but CUDA is not available here")
    return dev


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Accept ``torch.float32``/``float64`` or their names."""
    table = {
        "float32": torch.float32,
        "float64": torch.float64,
        torch.float32: torch.float32,
        torch.float64: torch.float64,
    }
    if dtype not in table:
        raise ConfigError(f"dtype={dtype!r}: expected float32 or float64")
    return table[dtype]


def build_model(
    problem: Problem, model: ModelSpec | Parametric | nn.Module | None
) -> tuple[PINN, dict[str, Any] | None]:
    """Build the PINN for ``problem``; return it and the JSON config of the network spec."""
    spec = model if model is not None else MLP()
    n_out = len(problem.unknowns)
    if isinstance(spec, Parametric):
        net, config = spec.build(problem), None
    elif isinstance(spec, ModelSpec):
        spec = spec.bind([str(c) for c in problem.coordinates])  # e.g. named periodic coordinates
        net = spec.build(problem.domain.dim, n_out, problem.domain.bounds)
        config: dict[str, Any] | None = spec.config()
    elif isinstance(spec, nn.Module):
        net, config = spec, None
    else:
        raise ConfigError(
            "model must be a model spec (po.MLP, po.ResidualMLP, po.ModifiedMLP), po.Parametric or a "
            f"torch.nn.Module, got {spec!r}"
        )
    return PINN(net, problem.unknowns, problem.parameters), config


def sample_points(
    problem: Problem,
    collocation: Collocation,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: torch.device,
) -> dict[str, PointSet]:
    """Draw one point set per region used by the problem's terms, then those its field bounds
    and energies need."""
    counts: dict[str, int] = {}
    regions = {}
    for spec in problem.terms:
        name = spec.region.name
        regions[name] = spec.region
        default = collocation.interior if isinstance(spec.region, Interior) else collocation.boundary
        counts[name] = max(counts.get(name, 0), spec.n or default)
    sets: dict[str, PointSet] = {}
    for name, region in regions.items():
        x = region.sample(counts[name], generator, dtype, device)
        data = {}
        normals = region.normals(x)
        if normals is not None:
            data["normal"] = normals
        sets[name] = PointSet(name, x, data)
    sets.update(  # the points of field bounds and energies that the terms above do not provide
        constraint_points(
            problem.constraints,
            problem.domain,
            sets,
            interior=collocation.interior,
            boundary=collocation.boundary,
            generator=generator,
            dtype=dtype,
            device=device,
        )
    )
    return sets


def build_objective(
    problem: Problem,
    engine: DerivativeEngine | None = None,
    *,
    robust: tuple[Group, ...] | list[Group] = (),
    model: nn.Module | None = None,
) -> Objective:
    """One residual term per equation and condition, named as in the problem, then the
    terms of its bounds, regularization, equalities and energies.

    With uncertain coefficients, each robust group becomes one worst-case term and other
    terms reading an uncertain coefficient are evaluated at its nominal value.
    """
    terms: list[Term] = [
        ResidualTerm(spec.name, spec.region.name, spec.expr, spec.weight) for spec in problem.terms
    ]
    terms += constraint_terms(problem.constraints)
    if problem.uncertain:
        terms = build_terms(problem, terms, robust, model if model is not None else nn.Identity(), engine)
    return Objective(terms, problem.unknowns, engine)
