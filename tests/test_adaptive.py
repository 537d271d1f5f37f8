"""Adaptive collocation hooks: Resample, RAR, RAD (behaviour, reproducibility, checkpoints)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.compile.assemble import build_model, build_objective, point_sources
from pinnopt.losses import PointSet
from pinnopt.strategies.sampling import residual_norms

x, t = sp.symbols("x t")
CPU = torch.device("cpu")


def sharp_problem() -> po.Problem:
    """-u'' = f with a sharp source near x = 0.7: an untrained network has a localized residual."""
    u = sp.Function("u")(x)
    exact = sp.tanh(20 * (x - sp.Rational(7, 10)))
    return po.Problem(
        domain=po.Interval(x, 0, 1),
        equations=[-u.diff(x, 2) + exact.diff(x, 2)],
        conditions=[po.Dirichlet("x=0", u, exact.subs(x, 0)), po.Dirichlet("x=1", u, exact.subs(x, 1))],
        exact=exact,
    )


def setup(hook: po.sample.RAR | po.sample.RAD | po.sample.Resample, seed: int = 0) -> po.train.Trainer:
    """A trainer (never run) whose view the hook sees, and which applies the hook's updates."""
    problem = sharp_problem()
    torch.manual_seed(0)
    model, _ = build_model(problem, po.nn.MLP(width=8, depth=1))
    model = model.double()
    sources = point_sources(problem, po.Collocation(interior=100, boundary=1))
    g = torch.Generator().manual_seed(1)
    points = {name: PointSet.draw(src, g, torch.float64, CPU) for name, src in sources.items()}
    trainer = po.train.Trainer(model, build_objective(problem), points, [po.optim.Adam(1)])
    hook.bind(sources, seed=seed, dtype=torch.float64, device=CPU)
    trainer._react.apply(hook.on_train_start(trainer._react.view()))
    return trainer


def at(trainer: po.train.Trainer, hook: po.train.TrainingHook, step: int) -> None:
    """Call the hook after step ``step`` as the trainer does, and apply its update."""
    trainer.loop.step = step
    trainer._react.apply(hook.on_step(trainer._react.view()))


def norms(trainer: po.train.Trainer, pts: po.sample.PointSet, chunk: int = 8192) -> torch.Tensor:
    view = trainer._react.view()
    return residual_norms(view, view.points, "interior", pts, chunk)


def fresh_residuals(trainer: po.train.Trainer, n: int = 2000) -> torch.Tensor:
    src = point_sources(sharp_problem(), po.Collocation(interior=n))["interior"]
    uniform = PointSet.draw(src, torch.Generator().manual_seed(5), torch.float64, CPU)
    return norms(trainer, uniform)


def test_rar_adds_the_points_with_the_largest_residual() -> None:
    hook = po.sample.RAR(every=10, add=20, candidates=1000)
    trainer = setup(hook)
    before = trainer.points["interior"]
    at(trainer, hook, 5)
    assert len(trainer.points["interior"]) == 100
    at(trainer, hook, 10)
    after = trainer.points["interior"]
    assert len(after) == 120 and torch.equal(after.x[:100], before.x)
    added = norms(trainer, after.take(torch.arange(100, 120)))
    assert float(added.min()) >= float(torch.quantile(fresh_residuals(trainer), 0.95))
    assert hook.updates == 1


def test_rad_concentrates_points_where_the_residual_is_large() -> None:
    hook = po.sample.RAD(every=1, k=2.0, c=0.0, candidates=2000)
    trainer = setup(hook)
    at(trainer, hook, 1)
    pts = trainer.points["interior"]
    assert len(pts) == 100 and len(torch.unique(pts.x)) == 100  # same size, no repeats
    r_rad = norms(trainer, pts)
    assert float(r_rad.mean()) > 3 * float(fresh_residuals(trainer).mean())


def test_hooks_are_reproducible_and_checkpointed() -> None:
    a, b = po.sample.RAD(every=1), po.sample.RAD(every=1)
    ta, tb = setup(a, seed=3), setup(b, seed=3)
    at(ta, a, 1)
    at(tb, b, 1)
    assert torch.equal(ta.points["interior"].x, tb.points["interior"].x)
    state = a.state_dict()
    at(ta, a, 2)
    c = po.sample.RAD(every=1)
    tc = setup(c, seed=99)
    c.load_state_dict(state)
    at(tc, c, 2)  # restores the saved points, then redraws with the saved generator state
    assert torch.equal(tc.points["interior"].x, ta.points["interior"].x)


def test_resample_redraws_every_n_steps_until_the_limit() -> None:
    hook = po.sample.Resample(every=2, until=4)
    trainer = setup(hook)
    first = trainer.points["interior"].x.clone()
    at(trainer, hook, 1)
    assert torch.equal(trainer.points["interior"].x, first)
    at(trainer, hook, 2)
    second = trainer.points["interior"].x.clone()
    assert not torch.equal(second, first) and len(second) == 100
    at(trainer, hook, 6)
    assert torch.equal(trainer.points["interior"].x, second)


def test_residual_norms_do_not_depend_on_chunking() -> None:
    trainer = setup(po.sample.Resample())
    pts = trainer.points["interior"]
    whole = norms(trainer, pts, chunk=1000)
    parts = norms(trainer, pts, chunk=7)
    torch.testing.assert_close(whole, parts, rtol=1e-12, atol=1e-12)
    assert not whole.requires_grad


def test_hook_errors_name_the_problem() -> None:
    with pytest.raises(po.ConfigError, match="not bound"):
        po.sample.RAR().on_train_start(SimpleNamespace())  # type: ignore[arg-type]
    with pytest.raises(po.ConfigError, match="not sampled point sets"):
        setup(po.sample.RAR(sets=["nowhere"]))
    with pytest.raises(po.ConfigError, match="add"):
        po.sample.RAR(add=0)
    with pytest.raises(po.ConfigError, match="every"):
        po.sample.Resample(every=0)


def test_solve_binds_sampling_hooks() -> None:
    result = po.solve(
        sharp_problem(),
        model=po.nn.MLP(width=8, depth=1),
        phases=[po.optim.Adam(steps=20, lr=1e-2)],
        collocation=po.Collocation(interior=50, boundary=1, sampler="sobol"),
        strategies=[
            po.sample.RAR(every=10, add=5, candidates=200),
            po.sample.Resample(every=5, sets=["x=0"]),
        ],
        log_every=10,
    )
    assert result.config["collocation"]["interior"] == 60
    assert result.config["sampler"] == "sobol"
