"""Time-marching (sequence-to-sequence training, Krishnapriyan et al. 2021; Wight & Zhao 2020).

The time interval is cut into ``windows`` equal windows. Window 0 is the problem on
``[t0, t0 + T/n]`` with its own initial conditions; window ``k > 0`` has the same equations
and side conditions on ``[t_k, t_{k+1}]`` and, instead of the initial conditions,
*continuity conditions*: every time derivative that the original initial conditions
constrain (``u``, and ``u_t`` for a wave equation) equals that of the trained window
``k - 1`` at ``t = t_k`` (its end state, evaluated from the previous model, detached). With
``shared=True`` each window starts from the previous window's trained parameters (a warm
start; the network sees the window's own time through its input scaling), otherwise from a
fresh initialization. Every window is an ordinary :func:`pinnopt.solve` with the same
options (phases, strategies, embedding...), so window ``k`` may use causal training inside
its window. With ``hard_constraints=True`` the value continuity condition ``u = u_prev`` is
enforced exactly (``u = u_prev(x) + (t - t_k) N / h``, see :mod:`pinnopt.compile.hard`):
no misfit at the window edges accumulates from window to window, which matters on unstable
dynamics (Allen-Cahn's ``u = 0`` amplifies early errors about ``e^{5t}``-fold).

:class:`MarchResult` stitches the windows into one ``predict()``/``validate()`` over the
whole domain. With ``checkpoint=dir`` each window checkpoints into ``dir/window-k`` and
saves its trained result there when done; ``resume=dir`` reloads finished windows and
resumes the interrupted one, so a resumed march ends bit for bit where the uninterrupted
one does (same seed, CPU, float64).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, final

import numpy as np
import sympy as sp
import torch
from torch import nn

from ..declare.items import On
from ..declare.problem import Problem
from ..domain import Interval, Product
from ..domain.box import Face, ProductPiece
from ..errors import CheckpointError, ConfigError, PinnoptError
from ..losses.hooks import TrainingHook, TrainingUpdate, TrainingView
from ..nn import InputScaling
from ..result import Result, register_format
from ..solve import solve
from ..strategies.base import check_int
from ..strategies.sampling import SamplingHook
from ..symbolic import AutogradEngine, DerivativePlan, Field
from ..train import Checkpoint
from ..train.checkpoint import checkpoints_in
from .stitched import FORMAT, MarchResult

log = logging.getLogger("pinnopt.strategies")

RESULT_FILE = "result.pt"


@final
@dataclass(frozen=True)
class Marching:
    """Time-marching settings (``po.march(problem, po.Marching(4))``).

    Args:
        windows: number of equal time windows.
        shared: warm-start each window from the previous window's parameters.
        time: the time coordinate's name (default ``"t"``).
        points: points on each window's initial slice for the continuity conditions
            (default: those of the original initial condition).
    """

    kind: ClassVar[str] = "Marching"
    option: ClassVar[str] = "marching"
    windows: int = 4
    shared: bool = True
    time: str | None = None
    points: int | None = None

    def __post_init__(self) -> None:
        check_int(self.kind, "windows", self.windows)
        if not isinstance(self.shared, bool):
            raise ConfigError(f"Marching(shared={self.shared!r}): expected True or False")
        if self.points is not None:
            check_int(self.kind, "points", self.points)
        if self.time is not None and not isinstance(self.time, str):
            object.__setattr__(self, "time", str(self.time))

    def config(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "kind": self.kind,
            "windows": self.windows,
            "shared": self.shared,
            "time": self.time,
            "points": self.points,
        }


class WarmStart(TrainingHook):
    """Loads the previous window's parameters (and buffers other than input scalings) at the start."""

    name = "warm_start"

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        self.state = state

    def on_train_start(self, view: TrainingView) -> TrainingUpdate:
        own = view.model_state()
        return TrainingUpdate(
            model_state={k: v for k, v in self.state.items() if k in own and own[k].shape == v.shape}
        )

    def on_step(self, view: TrainingView) -> None:
        return


def _transferable(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state without the buffers of its input scalings (they hold each window's box)."""
    skip = set()
    for prefix, module in model.named_modules():
        if isinstance(module, InputScaling):
            skip |= {f"{prefix}.{n}" if prefix else n for n, _ in module.named_buffers(recurse=False)}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k not in skip}


class _EndState:
    """``d^m u / dt^m`` of a trained model on the slice ``t = t_k``, as a function of the other
    coordinates (a function-table entry of the next window; detached, cached per point set)."""

    def __init__(self, result: Result, unknown: str, orders: tuple[int, ...], axis: int, t: float) -> None:
        self.model = result.model
        self.unknowns = result.unknowns
        self.field = Field(unknown, orders)
        self.plan = DerivativePlan.build({self.field})
        self.axis = axis
        self.t = float(t)
        self._key: tuple[Any, ...] | None = None
        self._keep: torch.Tensor | None = None
        self._value: torch.Tensor | None = None

    def __call__(self, *cols: torch.Tensor) -> torch.Tensor:
        ref = cols[0]
        key = (ref.data_ptr(), tuple(ref.shape), tuple(ref.stride()), ref.dtype)
        if key == self._key and self._value is not None:
            return self._value
        dev = next(self.model.parameters()).device
        parts = [c.detach().reshape(-1).to(dev) for c in cols]
        parts.insert(self.axis, torch.full_like(parts[0], self.t))
        pts = torch.stack(parts, dim=1)
        with torch.enable_grad():
            fields = AutogradEngine().evaluate(self.model, pts, self.plan, self.unknowns, create_graph=False)
        value = fields[self.field].detach().to(ref.device, ref.dtype)
        self._key, self._keep, self._value = key, ref, value
        return value


def _time_axis(problem: Problem, name: str | None) -> int:
    coords = [str(c) for c in problem.coordinates]
    name = name or "t"
    if name not in coords:
        raise ConfigError(
            f"march: no time coordinate {name!r} among {coords}; name it with Marching(time=...)"
        )
    if not isinstance(problem.domain, Product):
        raise ConfigError(f"march needs a product of intervals (a space-time box), got {problem.domain!r}")
    return coords.index(name)


def _check_problem(problem: Problem) -> None:
    if problem.parameters or problem.uncertain or problem.constraints:
        raise ConfigError(
            "march supports forward problems without trainable parameters, uncertain coefficients or "
            "constraints (bounds, regularization, equalities, energies)"
        )


def window_edges(problem: Problem, spec: Marching) -> tuple[int, list[float]]:
    """The time axis and the ``windows + 1`` window edges."""
    axis = _time_axis(problem, spec.time)
    lo, hi = problem.domain.bounds
    edges = list(np.linspace(lo[axis], hi[axis], spec.windows + 1))
    return axis, [float(e) for e in edges]


def window_problem(
    problem: Problem, spec: Marching, k: int, edges: Sequence[float], previous: Result | None
) -> Problem:
    """Window ``k``'s problem: the equations on ``[t_k, t_{k+1}]``, continuity from ``previous``."""
    axis, _ = window_edges(problem, spec)
    t_sym = problem.coordinates[axis]
    t0, t1 = edges[k], edges[k + 1]
    domain = problem.domain
    assert isinstance(domain, Product)
    factors = [Interval(f.symbol, t0, t1) if i == axis else f for i, f in enumerate(domain.factors)]
    start, end = edges[0], edges[-1]
    conditions: list[On] = []
    initial: list[On] = []
    for c in problem.conditions:
        region = domain.region(c.where)
        if isinstance(region, ProductPiece) and isinstance(region.piece, Face):
            region = region.piece  # a side of one interval factor of the box
        if isinstance(region, Face) and region.coordinate == t_sym:
            if abs(region.value - start) <= 1e-12 * (1 + abs(start)):
                initial.append(c)
                if k == 0:
                    conditions.append(c)
            elif abs(region.value - end) <= 1e-12 * (1 + abs(end)):
                if k == spec.windows - 1:
                    conditions.append(c)
            else:
                raise ConfigError(
                    f"march: condition on {region.name} inside the time interval is not supported"
                )
        elif isinstance(region, Face):
            conditions.append(c)
        else:
            raise ConfigError(f"march supports conditions on the sides of the box, not on {region!r}")
    if not initial:
        raise ConfigError(f"march: the problem has no condition at {t_sym} = {start:g}")
    functions = dict(problem.functions)
    if k > 0:
        if previous is None:
            raise ConfigError("window_problem: windows after the first need the previous window's result")
        orders = _initial_orders(problem, initial, axis)
        space = [c for i, c in enumerate(problem.coordinates) if i != axis]
        n = spec.points or max((c.n or 0) for c in initial) or None
        for u, m in sorted(orders):
            fname = f"_end_{u}_{m}"
            field_orders = tuple(m if i == axis else 0 for i in range(len(problem.coordinates)))
            functions[fname] = _EndState(previous, u, field_orders, axis, t0)
            lhs = sp.Function(u)(*problem.coordinates)
            if m:
                lhs = lhs.diff(t_sym, m)
            name = f"continuity_{u}" + (f"_{t_sym}{m}" if m else "")
            conditions.append(On(sp.Eq(t_sym, t0), lhs - sp.Function(fname)(*space), n=n, name=name))
    grid = problem.eval_grid
    if grid is not None and not isinstance(grid, (int, np.integer)) and not _is_counts(grid):
        pts = np.asarray(grid, dtype=np.float64)
        inside = (pts[:, axis] >= t0) & (pts[:, axis] <= t1)
        grid = pts[inside] if inside.any() else None
    return Problem(
        domain=Product(factors),
        equations=problem.equations,
        conditions=conditions,
        exact=problem.exact,
        unknowns=problem.unknowns,
        functions=functions,
        constants=problem.constants,
        name=f"{problem.name}[{k}]",
        description=problem.description,
        eval_grid=grid,
    )


def _is_counts(grid: Any) -> bool:
    return isinstance(grid, Sequence) and all(isinstance(v, (int, np.integer)) for v in grid)


def _initial_orders(problem: Problem, initial: list[On], axis: int) -> set[tuple[str, int]]:
    """``(unknown, time order)`` pairs the initial conditions constrain."""
    names = {c.name for c in initial}
    regions = {problem.domain.region(c.where).name for c in initial}
    out: set[tuple[str, int]] = set()
    for spec in problem.terms:
        if spec.kind == "condition" and (spec.name in names or spec.region.name in regions):
            out |= {(f.unknown, f.orders[axis]) for f in spec.expr.fields}
    return out


def march(
    problem: Problem,
    marching: Marching | int = 4,
    *,
    checkpoint: Checkpoint | str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    hooks: Sequence[TrainingHook] | Callable[[int], Sequence[TrainingHook]] = (),
    **options: Any,
) -> MarchResult:
    """Solve ``problem`` window by window in time; return the stitched :class:`MarchResult`.

    Args:
        problem: a time-dependent forward problem on a space-time box.
        marching: a :class:`Marching` or the number of windows.
        checkpoint: a folder (or ``po.callbacks.Checkpoint``): window ``k`` checkpoints into
            ``<dir>/window-k`` and saves its result there when done.
        resume: the folder of an earlier march: finished windows are reloaded, the
            interrupted one resumes from its newest checkpoint.
        hooks: training hooks or adaptive samplers for every window, or a function
            ``k -> hooks`` (hooks hold one run's state, so give fresh ones per window).
        options: every other keyword of :func:`pinnopt.solve` (model, phases, collocation,
            dtype, seed, strategies...), applied to each window.
    """
    spec = marching if isinstance(marching, Marching) else Marching(windows=marching)
    if not isinstance(spec, Marching):
        raise ConfigError(f"marching={marching!r}: expected po.Marching(...) or a number of windows")
    _check_problem(problem)
    axis, edges = window_edges(problem, spec)
    ck = checkpoint if checkpoint is None or isinstance(checkpoint, Checkpoint) else Checkpoint(checkpoint)
    results: list[Result] = []
    previous: Result | None = None
    for k in range(spec.windows):
        wp = window_problem(problem, spec, k, edges, previous)
        folder = Path(ck.dir) / f"window-{k}" if ck is not None else None
        done = Path(resume) / f"window-{k}" / RESULT_FILE if resume is not None else None
        if done is not None and done.exists():
            res = Result.load(done, wp)
            log.info("march: window %d reloaded from %s", k, done)
        else:
            extra = list(hooks(k) if callable(hooks) else hooks)
            if spec.shared and previous is not None:
                extra.append(WarmStart(_transferable(previous.model)))
            window_ckpt = None
            if ck is not None:
                window_ckpt = Checkpoint(folder, every=ck.every, keep=ck.keep, on_interrupt=ck.on_interrupt)
            window_resume = None
            if resume is not None and checkpoints_in(Path(resume) / f"window-{k}"):
                window_resume = Path(resume) / f"window-{k}"
            res = solve(wp, **_with_hooks(options, extra), checkpoint=window_ckpt, resume=window_resume)
            interrupted = res.stop_reason is not None and res.stop_reason.name == "INTERRUPTED"
            if folder is not None and not interrupted:
                res.save(folder / RESULT_FILE)
            results.append(res)
            if interrupted:
                log.warning(
                    "march: interrupted in window %d; resume with resume=%s", k, ck.dir if ck else "..."
                )
                break
            previous = res
            continue
        results.append(res)
        previous = res
    config: dict[str, Any] = dict(results[0].config) if results else {}
    config.update(
        {
            "problem": problem.name,
            "strategies": {"marching": spec.config(), **config.get("strategies", {})},
            "bounds": [list(b) for b in problem.domain.bounds],
            "edges": edges,
            "windows": [r.config for r in results],
        }
    )
    return MarchResult(problem, results, edges, axis, config)


def _with_hooks(options: dict[str, Any], hooks: Sequence[TrainingHook]) -> dict[str, Any]:
    """``options`` with a window's hooks added: adaptive samplers to ``strategies``, the rest
    (warm starts, user hooks) to ``callbacks``."""
    samplers = [h for h in hooks if isinstance(h, SamplingHook)]
    others = [h for h in hooks if not isinstance(h, SamplingHook)]
    return {
        **options,
        "strategies": [*options.get("strategies", ()), *samplers],
        "callbacks": [*options.get("callbacks", ()), *others],
    }


def load_march(payload: dict[str, Any], path: Path, problem: Problem | None) -> MarchResult:
    """A saved :class:`MarchResult` (``MarchResult.save``), read by ``Result.load``: each
    window is rebuilt on its window problem (the previous window's end state included)."""
    try:
        spec = Marching(**payload["marching"])
        edges = [float(e) for e in payload["edges"]]
        config = json.loads(payload["config"])
        windows: list[Result] = []
        previous: Result | None = None
        for k, part in enumerate(payload["windows"]):
            wp = window_problem(problem, spec, k, edges, previous) if problem is not None else None
            previous = Result._from_payload(part, path, wp)
            windows.append(previous)
    except PinnoptError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: a malformed time-marching result file ({type(exc).__name__}: {exc})"
        ) from exc
    if not windows:
        raise CheckpointError(f"{path}: a time-marching result file without windows")
    return MarchResult(problem, windows, edges, int(payload["axis"]), config)


register_format(FORMAT, load_march)
