"""Hyperparameter sweeps on Optuna: ``po.sweep(problem, space, trials=...)``.

Each trial solves the problem with the base configuration changed by one point of the
search space (:mod:`pinnopt.workflows.sweep_space`), all with the same seed. Its objective is
the validation error (worst relative L2 over the unknowns) when the problem has an exact
solution, else the final loss; the same quantity is reported at check points during
training so that Optuna's pruner can stop a poor trial early (the trial's callback stops
training at a step boundary, as Ctrl-C does). A trial that diverges, or whose configuration
``solve`` refuses, is recorded as failed with its reason and the study goes on.

The study lives in a storage Optuna accepts: by default an SQLite file in the run folder;
give the same database URL (and study name) to several processes or machines and they work
on one study. Results: :class:`SweepResult`, and in the run folder ``trials.csv``,
``trials.md``, ``sweep.json``, ``sweep.md``, ``best.py`` and the plots
(:mod:`pinnopt.workflows.sweep_report`).

Optuna is an optional dependency: ``pip install 'pinnopt[sweep]'``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..declare.problem import Problem
from ..errors import ConfigError, PinnoptError
from ..losses.hooks import TrainingView
from ..result import Result
from ..train.callbacks import Callback
from ..train.metric import Metric
from ..train.stop import StopReason
from ..validate.rundir import fresh_run_folder, writable_folder
from .configured import run_configuration
from .stitched import MarchResult
from .sweep_report import SweepResult, SweepTrial, trial_record, write_sweep
from .sweep_space import (
    Dimension,
    apply_params,
    check_paths,
    default_options,
    default_space,
    normalize_space,
    options_source,
    python_source,
)
from .sweep_storage import load_optuna, masked, one_line, open_study

log = logging.getLogger("pinnopt.workflows")

_FORBIDDEN = {"checkpoint": "each trial would continue another's", "resume": "each trial starts afresh"}


def sweep(
    problem: Problem,
    space: Mapping[str, Dimension] | None = None,
    trials: int = 20,
    *,
    base: Mapping[str, Any] | None = None,
    storage: Any = None,
    study: str | None = None,
    seed: int | None = None,
    sampler_seed: int | None = None,
    out: str | os.PathLike[str] | None = None,
    pruner: Any = "auto",
    sampler: Any = None,
    report_every: int | None = None,
    timeout: float | None = None,
    baseline: bool = False,
    plots: bool = True,
    on_trial: Callable[[SweepTrial], None] | None = None,
) -> SweepResult:
    """Search ``space`` around the configuration ``base`` for the lowest validation error.

    Args:
        problem: the problem to solve.
        space: ``{option path: Float | Int | Choice}`` (see :mod:`pinnopt.workflows.sweep_space`);
            None: :func:`~pinnopt.workflows.sweep_space.default_space` around ``base``.
        trials: how many trials this call runs (other processes may add theirs to the study);
            0 only writes the report of the stored study.
        base: the solve options the trials start from (e.g. a library problem's
            ``recommended()``); default ``solve``'s defaults. No ``checkpoint`` or ``resume``.
        storage: an Optuna storage: a database URL (``"sqlite:///study.db"``,
            ``"postgresql://..."``) or a storage object; default ``sqlite:///OUT/study.db``.
        study: the study's name (default: the problem's name); an existing study of that
            name in ``storage`` is continued.
        seed: the training seed of every trial (default ``base["seed"]`` or 0).
        sampler_seed: the seed of the default sampler (default ``seed``); give each of several
            processes sharing one study its own, or they propose the same first points.
        out: the run folder (default a fresh ``runs/<name>-sweep/<date-time>``).
        pruner: ``"percentile"``: Optuna's percentile pruner, which stops a trial whose
            objective is in the worst quarter of the completed trials' at the same step, once
            ``max(2, trials // 4)`` trials have completed and past the first half of the step
            budget; ``"median"``: the same with the median (stops more); None: no pruning; an
            Optuna pruner; ``"auto"`` (default): ``"percentile"`` when the budget is time
            (``timeout`` given) and the trials' phase boundaries are fixed, else None. (With
            L-BFGS phases an error at half the budget predicts the final one poorly: pruning
            pays where the time it saves buys more trials; see docs/sweeps.md.)
        sampler: an Optuna sampler (default TPE, seeded with ``sampler_seed``).
        report_every: steps between the reports to the pruner (default: 20 per run).
        timeout: seconds after which no new trial starts.
        baseline: also solve ``base`` itself once (same seed) and report its error beside the
            best trial's.
        plots: draw the optimization-history and parameter-importance plots.
        on_trial: called with each finished trial of this call (e.g. to print progress).

    Returns:
        a :class:`SweepResult`; ``result.solve_best()`` solves the best configuration again.

    Raises:
        ConfigError: Optuna missing, a bad space or key, a bad storage, a forbidden base option.
    """
    optuna = load_optuna()
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 0:
        raise ConfigError(f"sweep(trials={trials!r}): expected an int >= 0")
    base = dict(base or {})
    for key, why in _FORBIDDEN.items():
        if base.get(key) is not None:
            raise ConfigError(f"sweep: the base configuration sets {key}=; a sweep cannot use it ({why})")
    seed = int(base.pop("seed", 0) if seed is None else seed)
    if space is None:
        space = default_space(base)
    dims = normalize_space(space)
    check_paths(base, dims)
    folder = (
        writable_folder(out) if out is not None else fresh_run_folder(Path("runs") / f"{problem.name}-sweep")
    )
    store = storage if storage is not None else f"sqlite:///{(folder / 'study.db').resolve()}"
    objective = "rel_l2" if problem.exact_solution is not None else "loss"
    total = sum(int(p.steps) for p in default_options(base)["phases"])
    every = report_every or max(1, total // 20)
    if pruner == "auto":
        pruner = "percentile" if timeout is not None and not _moves_phases(dims) else None
        log.info("sweep: pruner %s (auto: prune only under a timeout, with fixed phase boundaries)", pruner)
    if isinstance(pruner, str) and pruner not in ("percentile", "median"):
        raise ConfigError(
            f"sweep(pruner={pruner!r}): expected 'auto', 'percentile', 'median', None or an Optuna pruner"
        )
    if pruner in ("percentile", "median"):
        pct = 75.0 if pruner == "percentile" else 50.0
        pruner = optuna.pruners.PercentilePruner(
            pct, n_startup_trials=max(2, trials // 4), n_warmup_steps=total // 2
        )
    elif pruner is None:
        pruner = optuna.pruners.NopPruner()
    sampler = sampler or optuna.samplers.TPESampler(
        seed=seed if sampler_seed is None else sampler_seed, n_startup_trials=max(2, min(10, trials // 3))
    )
    name = study or problem.name
    st = open_study(optuna, store, name, sampler=sampler, pruner=pruner)
    st.set_user_attr("objective", objective)
    st.set_user_attr("space", {k: python_source(v) for k, v in dims.items()})
    runner = _TrialRunner(problem, base, dims, seed, objective, every)
    interrupted = False
    t_end = None if timeout is None else time.monotonic() + float(timeout)
    for _ in range(trials):
        if t_end is not None and time.monotonic() >= t_end:
            log.info("sweep: timeout reached; no new trial")
            break
        trial = st.ask({k: d.distribution() for k, d in dims.items()})
        state, value = runner.run(trial)
        st.tell(trial, value if state == "complete" else None, state=_STATES(optuna)[state])
        record = trial_record(_find(st, trial.number))
        log.info("trial %d: %s", record.number, record.summary())
        if on_trial is not None:
            on_trial(record)
        if runner.interrupted:
            interrupted = True
            break
    base_error = _baseline(problem, base, seed, objective) if baseline and not interrupted else None
    result = SweepResult(
        problem=problem,
        study=st,
        space=dims,
        base=base,
        seed=seed,
        objective=objective,
        storage=masked(store),
        out=folder,
        interrupted=interrupted,
        baseline=base_error,
        pruner=_describe(pruner),
    )
    result.files = write_sweep(result, plots=plots)
    return result


def _STATES(optuna: Any) -> dict[str, Any]:
    s = optuna.trial.TrialState
    return {"complete": s.COMPLETE, "pruned": s.PRUNED, "failed": s.FAIL}


def _describe(pruner: Any) -> str:
    if type(pruner).__name__ == "NopPruner":
        return "none"
    fields = ("_percentile", "_n_startup_trials", "_n_warmup_steps")
    args = [f"{f[1:]}={getattr(pruner, f)}" for f in fields if hasattr(pruner, f)]
    return f"{type(pruner).__name__}({', '.join(args)})"


def _moves_phases(dims: Mapping[str, Dimension]) -> bool:
    """True when a trial's phase boundaries depend on the sampled point."""
    return any(
        p == "phases" or (p.startswith("phases.") and p.rsplit(".", 1)[-1] in ("steps", "epochs"))
        for p in dims
    )


def _find(st: Any, number: int) -> Any:
    return next(t for t in st.get_trials(deepcopy=False) if t.number == number)


class _ViewModel:
    """The model as a metric reads it, through the run's read-only view."""

    def __init__(self, view: TrainingView) -> None:
        self.view = view

    def __call__(self, x: Any) -> Any:
        return self.view.predict(x)

    def parameters(self) -> tuple[Any, ...]:
        return self.view.parameters()


class _Reporter(Callback):
    """Reports the trial's objective every ``every`` steps; stops training when pruned."""

    def __init__(self, trial: Any, metric: Metric | None, every: int) -> None:
        self.trial, self.metric, self.every = trial, metric, every
        self.pruned: tuple[int, float] | None = None
        self._reported = 0

    def on_step_end(self, view: TrainingView, step: int) -> None:
        if step % self.every:
            return None
        if self.metric is not None:
            value = self.metric.evaluate(_ViewModel(view), view.unknowns)
        else:
            value = float(view.loss) if view.loss is not None else math.nan
        if not math.isfinite(value):
            return None  # the divergence guard deals with it
        if step <= self._reported:  # the divergence guard went back: this step was reported
            return None
        self._reported = step
        self.trial.report(value, step)
        if self.trial.should_prune():
            self.pruned = (step, value)
            raise KeyboardInterrupt  # a clean stop at this step boundary (see po.callbacks)
        return None


class _PrunedStopFilter(logging.Filter):
    """Drops the trainer's "interrupted" warning when the stop was the pruner's."""

    def __init__(self, reporter: _Reporter) -> None:
        super().__init__()
        self.reporter = reporter

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.reporter.pruned is not None and str(record.msg).startswith("interrupted at step"))


class _TrialRunner:
    """Runs one trial: the configuration, the training, the objective and the trial's records."""

    def __init__(
        self,
        problem: Problem,
        base: dict[str, Any],
        dims: dict[str, Dimension],
        seed: int,
        objective: str,
        every: int,
    ) -> None:
        self.problem, self.base, self.dims, self.seed = problem, base, dims, seed
        self.objective, self.every = objective, every
        self.interrupted = False

    def run(self, trial: Any) -> tuple[str, float | None]:
        """Run ``trial``; return its state (``complete``, ``pruned``, ``failed``) and value."""
        attrs = {"seed": self.seed, "objective": self.objective}
        t0 = time.perf_counter()
        try:
            state, value = self._run(trial, attrs)
        except KeyboardInterrupt:  # a second Ctrl-C, inside a step
            self.interrupted = True
            state, value = "failed", None
            attrs["reason"] = "interrupted by the user (Ctrl-C)"
        attrs["time_s"] = round(time.perf_counter() - t0, 3)
        for key, v in attrs.items():
            trial.set_user_attr(key, v)
        return state, value

    def _run(self, trial: Any, attrs: dict[str, Any]) -> tuple[str, float | None]:
        params = {k: d.decode(trial.params[k]) for k, d in self.dims.items()}
        try:
            options = apply_params(self.base, params)
        except PinnoptError as exc:
            attrs["reason"] = f"refused configuration: {one_line(exc)}"
            return "failed", None
        attrs["config"] = options_source(options)
        metric = None
        if self.objective == "rel_l2":
            metric = Metric()
            metric.bind(self.problem)
        reporter = _Reporter(trial, metric, self.every)
        # A time-march trains one window at a time: no intermediate value measures the whole
        # solution, so its trials are never pruned.
        if options.get("marching") is None:
            options["callbacks"] = [*options.get("callbacks", ()), reporter]
        quiet = _PrunedStopFilter(reporter)
        logging.getLogger("pinnopt.train").addFilter(quiet)
        try:
            result = run_configuration(self.problem, seed=self.seed, **options)
        except PinnoptError as exc:
            attrs["reason"] = f"refused configuration: {type(exc).__name__}: {one_line(exc)}"
            return "failed", None
        except Exception as exc:
            log.debug("trial %d failed", trial.number, exc_info=True)
            attrs["reason"] = f"failed: {type(exc).__name__}: {one_line(exc)}"
            return "failed", None
        finally:
            logging.getLogger("pinnopt.train").removeFilter(quiet)
        reason = result.stop_reason
        attrs["stop_reason"] = reason.name if reason is not None else None
        attrs["steps"] = int(result.steps)
        attrs["loss"] = _final_loss(result)
        if reporter.pruned is not None:
            at, value = reporter.pruned
            attrs["stop_reason"] = "PRUNED"
            attrs["reason"] = (
                f"pruned at step {at}: {self.objective} {value:.3e} (worse than the pruner's bar)"
            )
            return "pruned", None
        if reason is StopReason.INTERRUPTED:
            self.interrupted = True
            attrs["reason"] = "interrupted by the user (Ctrl-C)"
            return "failed", None
        if reason in (StopReason.DIVERGED, StopReason.NOT_FINITE):
            detail = _outcome_detail(result)
            attrs["reason"] = f"diverged: {reason.name}" + (f": {detail}" if detail else "")
            return "failed", None
        value = result.validate().worst_rel_l2 if self.objective == "rel_l2" else attrs["loss"]
        if value is None or not math.isfinite(value):
            attrs["reason"] = f"the {self.objective} is not finite ({value})"
            return "failed", None
        attrs["error" if self.objective == "rel_l2" else "value"] = float(value)
        attrs["reason"] = reason.value if reason is not None else ""
        return "complete", float(value)


def _final_loss(result: Result | MarchResult) -> float | None:
    history = result.history
    if history is None or not len(history):
        return None
    loss = float(history.loss[-1])
    return loss if math.isfinite(loss) else None


def _outcome_detail(result: Result | MarchResult) -> str:
    res = result.windows[-1] if isinstance(result, MarchResult) else result
    return one_line(res.outcome.stop_detail) if res.outcome is not None else ""


def _baseline(problem: Problem, base: dict[str, Any], seed: int, objective: str) -> dict[str, Any]:
    """The base configuration's own objective (one run, the trials' seed)."""
    t0 = time.perf_counter()
    try:
        result = run_configuration(problem, seed=seed, **default_options(base))
    except Exception as exc:
        return {"value": None, "reason": f"{type(exc).__name__}: {one_line(exc)}"}
    value = result.validate().worst_rel_l2 if objective == "rel_l2" else _final_loss(result)
    reason = result.stop_reason
    return {
        "value": value,
        "time_s": round(time.perf_counter() - t0, 3),
        "stop_reason": reason.name if reason is not None else None,
        "config": options_source(base),
    }
