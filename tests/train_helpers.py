"""Small, fast problems and set-ups shared by the trainer tests."""

from __future__ import annotations

import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.losses import Objective, PointSet

x = sp.Symbol("x")


def ode_problem() -> po.Problem:
    """u' = 2x on [0, 1], u(0) = 0; exact u = x^2 (trains in a few hundred cheap steps)."""
    u = sp.Function("u")(x)
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[u.diff(x) - 2 * x],
        conditions=[po.On(sp.Eq(x, 0), u)],
        exact=x**2,
        name="ode_quadratic",
    )


def setup(
    seed: int = 0, interior: int = 64, dtype: torch.dtype = torch.float64
) -> tuple[po.Problem, po.nn.PINN, dict[str, PointSet], Objective]:
    """Model, points and objective of :func:`ode_problem`, as ``po.solve`` builds them."""
    problem = ode_problem()
    torch.manual_seed(seed)
    model, _ = build_model(problem, po.nn.MLP(width=8, depth=2))
    model = model.to(dtype)
    g = torch.Generator().manual_seed(seed)
    points = sample_points(
        problem, po.Collocation(interior=interior, boundary=1), g, dtype, torch.device("cpu")
    )
    objective = build_objective(problem).to(dtype, torch.device("cpu"))
    return problem, model, points, objective


def full_loss(model: torch.nn.Module, objective: Objective, points: dict[str, PointSet]) -> float:
    """The full-batch objective (whatever batching the training used)."""
    total, _ = objective(model, points, create_graph=False)
    return float(total.detach())


SOLVE = {
    "model": po.nn.MLP(width=8, depth=2),
    "collocation": po.Collocation(interior=64, boundary=1),
}
"""Keyword arguments of ``po.solve`` for :func:`ode_problem` tests."""

DDP_SOLVE = {
    "runtime": po.Runtime(device="cpu"),  # gloo on CPU, also on machines with GPUs
    "model": po.nn.MLP(width=8, depth=2),
    "collocation": po.Collocation(interior=64, boundary=2),
    "log_every": 5,
}
"""``po.solve`` keywords for the data-parallel test (point counts divisible by 2 ranks)."""
