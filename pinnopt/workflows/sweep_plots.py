"""The plots of a sweep (matplotlib, Agg, PNG): the objective per trial, parameter importances.

Imported on first use (matplotlib takes seconds to load). Layer ``workflows``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..validate.plots import new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

log = logging.getLogger("pinnopt.workflows")

DPI = 100


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def plot_history(trials: Sequence[Any], objective: str, path: Path, baseline: float | None = None) -> Path:
    """The objective of each trial (completed: dots; pruned: crosses at their last report;
    failed: dotted vertical lines), the best so far and the base configuration's (dashed)."""
    fig = new_figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    done = [(t.number, t.value) for t in trials if t.state == "complete" and _positive(t.value)]
    pruned = [(t.number, t.value) for t in trials if t.state == "pruned" and _positive(t.value)]
    failed = [t.number for t in trials if t.state == "failed"]
    if done:
        ax.plot(*zip(*done, strict=True), "o", color="C0", label="completed")
        best, xs, ys = math.inf, [], []
        for n, v in done:
            best = min(best, v)
            xs.append(n)
            ys.append(best)
        ax.step(xs, ys, where="post", color="C3", lw=1.5, label="best so far")
    if pruned:
        ax.plot(*zip(*pruned, strict=True), "x", color="C1", label="pruned (last report)")
    if _positive(baseline):
        ax.axhline(baseline, color="grey", ls="--", lw=1.2, label="base configuration")
    if done or pruned:
        ax.set_yscale("log")
    for k, n in enumerate(failed):
        ax.axvline(n, color="grey", ls=":", lw=1, label="failed" if k == 0 else None)
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title(f"optimization history ({len(trials)} trials)")
    ax.grid(True, which="both", alpha=0.3)
    if done or pruned or failed:
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_importance(study: Any, path: Path) -> Path | str:
    """Optuna's importance of each parameter as bars: fANOVA when scikit-learn is installed,
    else PED-ANOVA (numpy only); a note (str) instead of a file when it cannot be computed
    (fewer than two completed trials, a single parameter value)."""
    import optuna

    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(done) < 2:
        return f"parameter importance needs at least 2 completed trials ({len(done)} completed)"
    method, evaluator = _evaluator(optuna)
    if evaluator is None:
        return "parameter importance needs scikit-learn (fANOVA) or Optuna >= 3.6 (PED-ANOVA)"
    try:
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError, ZeroDivisionError, ImportError) as exc:
        return f"parameter importance not computed: {exc}"
    if not importances:
        return "parameter importance not computed: no parameter varies"
    names = list(importances)[::-1]
    fig = new_figure(figsize=(6, 0.5 * len(names) + 1.5), layout="constrained")
    ax = fig.subplots()
    ax.barh(names, [importances[n] for n in names], color="C0")
    ax.set_xlabel(f"importance ({method})")
    ax.set_title(f"parameter importance ({len(done)} completed trials)")
    ax.set_xlim(0, 1)
    return _save(fig, path)


def _evaluator(optuna: Any) -> tuple[str, Any]:
    """fANOVA (the share of the objective's variance; needs scikit-learn), else PED-ANOVA."""
    try:
        import sklearn  # noqa: F401 - fANOVA's random forest
    except ImportError:
        ped = getattr(optuna.importance, "PedAnovaImportanceEvaluator", None)
        return "PED-ANOVA", ped() if ped is not None else None
    return "fANOVA, share of the objective's variance", optuna.importance.FanovaImportanceEvaluator(seed=0)


def _positive(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0
