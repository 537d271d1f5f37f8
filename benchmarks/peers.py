"""The side-by-side speed cases and their runners: pinnopt, a hand-written PyTorch loop, DeepXDE.

Each runner is a function ``run(steps)`` doing ``steps`` full-batch Adam steps (lr 1e-3) from
fixed initial weights; :func:`benchmarks.common.interleaved` alternates them in one process.

Cases (tanh MLPs, Glorot normal):

- ``burgers_small``: Burgers, 3 x 20, 2540 interior + 80 boundary + 160 initial points;
- ``burgers_large``: Burgers, 5 x 100, 8192 interior + 2048 boundary + 2048 initial points;
- ``poisson2d``: -lap u = f on [0, 1]^2 (exact sin(pi x) sin(2 pi y)), u = 0 on the four sides,
  4 x 50, 4096 interior + 1024 boundary points (256 per side).

Each library uses its standard formulation: pinnopt evaluates the residual on the interior and
the conditions on their own points, with its default derivative engine and input scaling;
DeepXDE (``TimePDE``/``PDE`` data, ``FNN``) evaluates the network once on all its training
points (boundary and initial points included twice) and the PDE residual on all of them,
slicing the losses afterwards. DeepXDE is optional (``pip install deepxde==1.15.0``, the
``bench`` extra) and runs with its PyTorch backend (``DDE_BACKEND=pytorch``).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, sample_points
from pinnopt.losses import PointSet
from pinnopt.symbolic import DerivativeEngine

Runner = Callable[[int], None]


@dataclass(frozen=True)
class Case:
    """One benchmark configuration."""

    name: str
    problem: str  # "burgers" or "poisson2d"
    width: int
    depth: int
    interior: int
    boundary: int  # all sides together
    initial: int = 0
    t_end: float = 1.0

    def describe(self) -> dict[str, Any]:
        points = f"{self.interior} + {self.boundary}" + (f" + {self.initial}" if self.initial else "")
        return {
            "problem": self.problem,
            "network": f"{self.depth} x {self.width} tanh",
            "points": points,
        }


CASES = {
    "burgers_small": Case("burgers_small", "burgers", 20, 3, 2540, 80, 160),
    "burgers_large": Case("burgers_large", "burgers", 100, 5, 8192, 2048, 2048),
    "poisson2d": Case("poisson2d", "poisson2d", 50, 4, 4096, 1024),
}
NU = 0.01 / math.pi


def burgers_problem(case: Case) -> po.Problem:
    """Burgers u_t + u u_x = nu u_xx on [-1, 1] x [0, t_end], u(+-1, t) = 0, u(x, 0) = -sin(pi x)."""
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    side = case.boundary // 2
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, case.t_end),
        equations=[u.diff(t) + u * u.diff(x) - sp.Rational(1, 100) / sp.pi * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, -1), u, n=side),
            po.On(sp.Eq(x, 1), u, n=side),
            po.On(sp.Eq(t, 0), u + sp.sin(sp.pi * x), n=case.initial),
        ],
        name="burgers",
    )


def poisson_problem(case: Case) -> po.Problem:
    """-lap u = f on the unit square with u = 0 on the sides; exact sin(pi x) sin(2 pi y)."""
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    exact = sp.sin(sp.pi * x) * sp.sin(2 * sp.pi * y)
    f = -(exact.diff(x, 2) + exact.diff(y, 2))
    side = case.boundary // 4
    return po.Problem(
        domain=po.Interval(x, 0, 1) * po.Interval(y, 0, 1),
        equations=[-(u.diff(x, 2) + u.diff(y, 2)) - f],
        conditions=[po.On(sp.Eq(s, v), u, n=side) for s in (x, y) for v in (0, 1)],
        exact=exact,
        name="poisson2d",
    )


def make_problem(case: Case) -> po.Problem:
    return burgers_problem(case) if case.problem == "burgers" else poisson_problem(case)


def pinnopt_setup(
    case: Case, dtype: torch.dtype, seed: int = 0, device: str = "cpu"
) -> tuple[po.Problem, po.nn.PINN, dict[str, PointSet]]:
    """The problem, the network (pinnopt's MLP: Glorot normal, input scaling) and the points."""
    problem = make_problem(case)
    torch.manual_seed(seed)
    pinn, _ = build_model(problem, po.nn.MLP(width=case.width, depth=case.depth))
    pinn = pinn.to(dtype=dtype, device=device)
    g = torch.Generator().manual_seed(seed)
    points = sample_points(problem, po.Collocation(interior=case.interior), g, dtype, torch.device(device))
    return problem, pinn, points


def pinnopt_runner(
    case: Case,
    dtype: torch.dtype,
    engine: DerivativeEngine | None = None,
    *,
    fused_adam: bool | None = None,
    device: str = "cpu",
    **trainer: Any,
) -> Runner:
    """pinnopt's Trainer (default engine: ``AutoEngine``, as in ``po.solve``); ``trainer``
    options go to :class:`pinnopt.train.Trainer` (e.g. ``compile=True``)."""
    problem, pinn, points = pinnopt_setup(case, dtype, device=device)
    objective = build_objective(problem, engine or po.nn.AutoEngine()).to(dtype, torch.device(device))

    def run(steps: int) -> None:
        phases = [po.optim.Adam(steps=steps, lr=1e-3, fused=fused_adam)]
        po.train.Trainer(pinn, objective, points, phases, log_every=max(steps, 1), **trainer).run()

    return run


def hand_runner(case: Case, dtype: torch.dtype, device: str = "cpu") -> Runner:
    """A hand-written loop: nested reverse-mode autograd, one model call per point set."""
    _, pinn, points = pinnopt_setup(case, dtype, device=device)
    net = copy.deepcopy(pinn.net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xi = points["interior"].x
    sides = [ps.x for name, ps in points.items() if name not in ("interior", "t=0")]
    x0 = points["t=0"].x if "t=0" in points else None
    residual = _burgers_residual if case.problem == "burgers" else _poisson_residual

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            x = xi.detach().requires_grad_(True)
            r = residual(net, x)
            loss = (r * r).mean()
            for xs in sides:
                loss = loss + net(xs)[:, 0].pow(2).mean()
            if x0 is not None:
                ic = net(x0)[:, 0] + torch.sin(math.pi * x0[:, 0])
                loss = loss + (ic * ic).mean()
            loss.backward()
            opt.step()

    return run


def _burgers_residual(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    u = net(x)[:, 0]
    ones = torch.ones_like(u)
    g = torch.autograd.grad(u, x, ones, create_graph=True)[0]
    ux, ut = g[:, 0], g[:, 1]
    uxx = torch.autograd.grad(ux, x, ones, create_graph=True)[0][:, 0]
    return ut + u * ux - NU * uxx


def _poisson_residual(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    u = net(x)[:, 0]
    ones = torch.ones_like(u)
    g = torch.autograd.grad(u, x, ones, create_graph=True)[0]
    uxx = torch.autograd.grad(g[:, 0], x, ones, create_graph=True)[0][:, 0]
    uyy = torch.autograd.grad(g[:, 1], x, ones, create_graph=True)[0][:, 1]
    px, py = math.pi * x[:, 0], 2 * math.pi * x[:, 1]
    f = 5 * math.pi**2 * torch.sin(px) * torch.sin(py)
    return -(uxx + uyy) - f


# -- DeepXDE ----------------------------------------------------------------------------------


def deepxde_available() -> str | None:
    """DeepXDE's version if it imports with the PyTorch backend, else None."""
    try:
        dde = _deepxde()
    except Exception:
        return None
    return str(dde.__version__)


def _deepxde() -> Any:
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    import deepxde as dde

    if dde.backend.backend_name != "pytorch":
        raise RuntimeError(f"DeepXDE runs with backend {dde.backend.backend_name!r}; set DDE_BACKEND=pytorch")
    return dde


def deepxde_model(case: Case, seed: int = 0, t_end: float | None = None) -> Any:
    """DeepXDE's standard setup of the case, compiled with Adam lr 1e-3 (float32, its default)."""
    dde = _deepxde()
    dde.config.set_random_seed(seed)
    if case.problem == "burgers":
        geomtime = dde.geometry.GeometryXTime(
            dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, case.t_end if t_end is None else t_end)
        )

        def pde(x: Any, y: Any) -> Any:
            dy_x = dde.grad.jacobian(y, x, i=0, j=0)
            dy_t = dde.grad.jacobian(y, x, i=0, j=1)
            dy_xx = dde.grad.hessian(y, x, i=0, j=0)
            return dy_t + y * dy_x - NU * dy_xx

        bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
        ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
        data = dde.data.TimePDE(
            geomtime,
            pde,
            [bc, ic],
            num_domain=case.interior,
            num_boundary=case.boundary,
            num_initial=case.initial,
        )
        layers = [2] + [case.width] * case.depth + [1]
    else:
        geom = dde.geometry.Rectangle([0, 0], [1, 1])

        def pde(x: Any, y: Any) -> Any:
            uxx = dde.grad.hessian(y, x, i=0, j=0)
            uyy = dde.grad.hessian(y, x, i=1, j=1)
            px, py = math.pi * x[:, 0:1], 2 * math.pi * x[:, 1:2]
            return -(uxx + uyy) - 5 * math.pi**2 * torch.sin(px) * torch.sin(py)

        bc = dde.icbc.DirichletBC(geom, lambda x: np.zeros((len(x), 1)), lambda _, on_boundary: on_boundary)
        data = dde.data.PDE(geom, pde, bc, num_domain=case.interior, num_boundary=case.boundary)
        layers = [2] + [case.width] * case.depth + [1]
    net = dde.nn.FNN(layers, "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3)
    return model


def deepxde_runner(case: Case, seed: int = 0) -> Runner:
    """DeepXDE's own training loop (``Model.train``) without its test-loss evaluations.

    ``Model.train`` evaluates the test loss at its start, every ``display_every`` steps and at
    its end; those evaluations are switched off on this instance (``_test`` does nothing), so
    a round times exactly its per-iteration work: batch bookkeeping, the training step (one
    network call, PDE and condition losses, backward, Adam) and its (empty) callback list.
    """
    model = deepxde_model(case, seed)
    model._test = lambda *args, **kwargs: None

    def run(steps: int) -> None:
        model.train(iterations=steps, display_every=10**9, verbose=0)

    return run
