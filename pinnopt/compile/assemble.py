"""Turn a declared problem into what the trainer needs: model, point sets and objective."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch
from torch import nn

from ..declare.problem import Problem
from ..domain import Interior
from ..domain.sampling import Collocation, PointSource
from ..errors import ConfigError
from ..losses import DataTerm, Objective, PairedTerm, PointSet, ResidualTerm, Term
from ..losses.constraint_terms import ScalarTerm
from ..nn import MLP, PINN, ModelSpec
from ..nn.subsets import CoordinateSubsets
from ..robust import Group, Parametric
from ..symbolic import DerivativeEngine
from .constraints import constraint_points, constraint_terms
from .hard import ConstraintPlan, HardConstrained
from .robust import build_terms

DEVICES = ("cpu", "cuda", "cuda:N", "mps")
"""The device names :func:`resolve_device` accepts (``N`` a GPU index)."""


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` means CUDA when available, else CPU; otherwise check the request.

    Raises:
        ConfigError: ``device`` is not one of :data:`DEVICES` (as a string or a
            ``torch.device``), or names a GPU that is not here.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    accepted = f"expected one of {', '.join(DEVICES)} (a string or a torch.device)"
    if not isinstance(device, (str, torch.device)):
        raise ConfigError(f"device={device!r}: {accepted}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"device={device!r}: {accepted}") from exc
    if dev.type not in ("cpu", "cuda", "mps") or (dev.type != "cuda" and dev.index not in (None, 0)):
        raise ConfigError(f"device={device!r}: {accepted}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device={device!r} was requested but CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device={device!r}: there are {torch.cuda.device_count()} CUDA device(s) here "
                f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})"
            )
    return dev


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Accept ``torch.float32``/``float64`` or their names."""
    table = {
        "float32": torch.float32,
        "float64": torch.float64,
        torch.float32: torch.float32,
        torch.float64: torch.float64,
    }
    if not isinstance(dtype, (str, torch.dtype)) or dtype not in table:  # (a list is unhashable)
        raise ConfigError(f"dtype={dtype!r}: expected 'float32', 'float64', torch.float32 or torch.float64")
    return table[dtype]


class NoNetwork(nn.Module):
    """The network of a problem without unknown functions: ``(N, dim)`` points to ``(N, 0)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], 0)


def build_network(
    problem: Problem, model: ModelSpec | Parametric | nn.Module | None, plan: ConstraintPlan | None = None
) -> tuple[nn.Module, dict[str, Any] | None]:
    """The network for ``problem``'s unknowns and the JSON config of its spec.

    Unknowns that take only some coordinates (``a(x)`` in a space-time problem) get their
    own network on those coordinates (:class:`~pinnopt.nn.subsets.CoordinateSubsets`); with a
    constraint ``plan`` the output is wrapped by :class:`~pinnopt.compile.hard.HardConstrained`.
    """
    if not problem.unknowns:
        if model is not None:
            raise ConfigError(
                f"problem {problem.name!r} has no unknown function (an optimization over its parameters "
                f"{[p.name for p in problem.parameters]}), so it takes no network: solve it with model=None, "
                "or declare the network's output as an unknown (u(x, y) in observations or bounds)"
            )
        return NoNetwork(), None
    spec = model if model is not None else MLP()
    coords = problem.coordinates
    n_out = len(problem.unknowns)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for k, (_, uses) in enumerate(problem.unknown_coordinates.items()):
        groups.setdefault(uses, []).append(k)
    partial = any(len(uses) < len(coords) for uses in groups)
    if isinstance(spec, Parametric):
        net, config = spec.build(problem), None
    elif isinstance(spec, ModelSpec):
        if partial:
            lower, upper = problem.domain.bounds
            parts = []
            for uses, outputs in groups.items():
                cols = [coords.index(c) for c in uses]
                bounds = ([lower[j] for j in cols], [upper[j] for j in cols])
                sub = spec.bind([str(coords[j]) for j in cols])  # e.g. named periodic coordinates
                parts.append((cols, outputs, sub.build(len(cols), len(outputs), bounds)))
            net: nn.Module = CoordinateSubsets(parts, n_out)
        else:
            spec = spec.bind([str(c) for c in coords])  # e.g. named periodic coordinates
            net = spec.build(problem.domain.dim, n_out, problem.domain.bounds)
        config: dict[str, Any] | None = spec.config()
    elif isinstance(spec, nn.Module):
        if partial:
            some = {problem.unknowns[k]: [str(c) for c in uses] for uses, ks in groups.items() for k in ks}
            raise ConfigError(
                f"unknowns depend on different coordinates ({some}); a custom torch module gets every "
                "coordinate, so use a po.nn.MLP spec (one network per coordinate group)"
            )
        net, config = spec, None
    else:
        raise ConfigError(
            "model must be a model spec (po.nn.MLP, po.nn.ResidualMLP, po.nn.ModifiedMLP), "
            f"po.robust.Parametric or a torch.nn.Module, got {spec!r}"
        )
    if plan is not None and plan.enforced:
        net = HardConstrained(net, plan, problem.context)
    return net, config


def build_model(
    problem: Problem, model: ModelSpec | Parametric | nn.Module | None, plan: ConstraintPlan | None = None
) -> tuple[PINN, dict[str, Any] | None]:
    """Build the PINN for ``problem``; return it and the JSON config of the network spec."""
    net, config = build_network(problem, model, plan)
    return PINN(net, problem.unknowns, problem.parameters), config


def point_sources(
    problem: Problem, collocation: Collocation, skip: Collection[str] = ()
) -> dict[str, PointSource]:
    """One point source per region used by the terms (except the terms named in ``skip``).

    A region used by several terms gets the largest number of points any of them asks for.
    """
    counts: dict[str, int] = {}
    regions = {}
    for spec in problem.terms:
        if spec.name in skip:
            continue
        name = spec.region.name
        regions[name] = spec.region
        default = collocation.interior if isinstance(spec.region, Interior) else collocation.boundary
        counts[name] = max(counts.get(name, 0), spec.n or default)
    return {name: PointSource(name, regions[name], counts[name], collocation.sampler) for name in regions}


def sample_points(
    problem: Problem,
    collocation: Collocation,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: torch.device,
    skip: Collection[str] = (),
) -> dict[str, PointSet]:
    """Draw one point set per region used by the problem's terms (on ``device``), then those
    its field bounds and energies need."""
    sources = point_sources(problem, collocation, skip)
    sets = {name: PointSet.draw(src, generator, dtype, device) for name, src in sources.items()}
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


def problem_terms(
    problem: Problem,
    engine: DerivativeEngine | None = None,
    skip: Collection[str] = (),
    *,
    robust: tuple[Group, ...] | list[Group] = (),
    model: nn.Module | None = None,
) -> list[Term]:
    """One term per equation, condition and observed quantity, named as in the problem, then
    the terms of its bounds, regularization, equalities and energies.

    Terms named in ``skip`` (conditions enforced exactly by hard constraints) are left out.
    With uncertain coefficients, each robust group becomes one worst-case term and other
    terms reading an uncertain coefficient are evaluated at its nominal value.
    """
    terms: list[Term] = []
    for spec in problem.terms:
        if spec.name in skip:
            continue
        ps = spec.region.name
        if spec.mode == "paired":
            terms.append(PairedTerm(spec.name, ps, spec.exprs, spec.weight))
        elif spec.kind == "data" and spec.target is not None:
            terms.append(
                DataTerm(spec.name, ps, spec.expr, spec.target, spec.weight, point_weights=spec.point_weights)
            )
        else:
            terms.append(
                ResidualTerm(
                    spec.name,
                    ps,
                    spec.expr,
                    spec.weight,
                    target=spec.target,
                    point_weights=spec.point_weights,
                )
            )
    terms += [ScalarTerm(c.name, c.compiled, c.weight) for c in problem.losses]
    terms += constraint_terms(problem.constraints)
    if problem.uncertain:
        terms = build_terms(problem, terms, robust, model if model is not None else nn.Identity())
    return terms


def make_objective(
    problem: Problem,
    terms: list[Term],
    engine: DerivativeEngine | None = None,
    scalars: dict[str, torch.Tensor] | None = None,
) -> Objective:
    """The one constructor of a problem's :class:`~pinnopt.losses.Objective` (also after
    strategies rewrote its terms): the weighted sum of ``terms`` over ``problem``'s unknowns."""
    objective = Objective(terms, problem.unknowns, engine)
    objective.scalars.update(scalars or {})
    return objective


def build_objective(
    problem: Problem,
    engine: DerivativeEngine | None = None,
    skip: Collection[str] = (),
    *,
    robust: tuple[Group, ...] | list[Group] = (),
    model: nn.Module | None = None,
) -> Objective:
    """The objective of :func:`problem_terms` (no strategies; :func:`pinnopt.compile.stage.compile_problem`
    is the full compile stage)."""
    return make_objective(problem, problem_terms(problem, engine, skip, robust=robust, model=model), engine)
