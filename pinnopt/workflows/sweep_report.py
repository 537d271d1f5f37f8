"""What a sweep leaves: :class:`SweepResult`, the trials table, the report, ``best.py``, plots.

The run folder of ``po.sweep`` / ``pinnopt sweep`` holds ``trials.csv`` and ``trials.md``
(every trial of the study: state, objective, parameters, seed, time, stop reason or why it
failed or was pruned), ``sweep.json`` and ``sweep.md`` (the best trial, the baseline when
measured, the counts), ``best.py`` (the best configuration as Python) and the plots
``history.png`` (objective per trial and the best so far) and ``importance.png`` (Optuna's
fANOVA parameter importances; needs two completed trials).

Layer ``workflows``.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import problems
from ..declare.problem import Problem
from ..errors import ConfigError
from ..result import Result
from ..validate.report import write_json, write_text_atomic
from .configured import run_configuration
from .stitched import MarchResult
from .sweep_plots import plot_history, plot_importance
from .sweep_space import Dimension, apply_params, options_source, python_source

log = logging.getLogger("pinnopt.workflows")


@dataclass(frozen=True)
class SweepTrial:
    """One trial of a study, as stored.

    Attributes:
        number: the trial's number in the study.
        state: ``"complete"``, ``"pruned"``, ``"failed"`` or ``"running"`` (another process).
        value: the objective (pruned trials: the last value reported; failed: None).
        params: the sampled values as stored (choices by label), by option path.
        seed: the training seed.
        time_s: wall time of the trial.
        steps: optimizer steps made.
        stop_reason: why training stopped (a ``StopReason`` name), when it ran.
        reason: why the trial ended so: the stop reason's text, or why it failed or was pruned.
        loss: the final training loss.
        config: the trial's solve options as Python source.
    """

    number: int
    state: str
    value: float | None
    params: Mapping[str, Any]
    seed: int | None = None
    time_s: float | None = None
    steps: int | None = None
    stop_reason: str | None = None
    reason: str = ""
    loss: float | None = None
    config: str = ""

    def summary(self) -> str:
        """One line: state, value, parameters, reason."""
        value = "" if self.value is None else f" {self.value:.3e}"
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        why = "" if self.state == "complete" else f" ({self.reason})"
        return f"{self.state}{value} [{params}]{why}"


def trial_record(trial: Any) -> SweepTrial:
    """A :class:`SweepTrial` from an Optuna ``FrozenTrial``."""
    attrs = trial.user_attrs
    state = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}.get(
        trial.state.name, trial.state.name.lower()
    )
    value = trial.value
    if state == "pruned" and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    return SweepTrial(
        number=trial.number,
        state=state,
        value=None if value is None else float(value),
        params=dict(trial.params),
        seed=attrs.get("seed"),
        time_s=attrs.get("time_s"),
        steps=attrs.get("steps"),
        stop_reason=attrs.get("stop_reason"),
        reason=str(attrs.get("reason", "")),
        loss=attrs.get("loss"),
        config=str(attrs.get("config", "")),
    )


@dataclass
class SweepResult:
    """The outcome of :func:`pinnopt.sweep`: the study, its trials, the best configuration.

    Attributes:
        problem: the swept problem.
        study: the Optuna study (every trial of it, including other processes').
        space: the search space, by option path.
        base: the configuration the trials start from.
        seed: the trials' training seed.
        objective: ``"rel_l2"`` (validation error) or ``"loss"`` (final training loss).
        storage: the storage URL (password hidden) or the storage's type.
        out: the run folder.
        interrupted: the user stopped the sweep (Ctrl-C).
        baseline: the base configuration's own result (``{"value", ...}``) when measured.
        pruner: the pruner, in words (``"none"`` without pruning).
        files: the files written, by kind.
    """

    problem: Problem
    study: Any
    space: Mapping[str, Dimension]
    base: Mapping[str, Any]
    seed: int
    objective: str
    storage: str
    out: Path | None = None
    interrupted: bool = False
    baseline: Mapping[str, Any] | None = None
    pruner: str = "none"
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def trials(self) -> list[SweepTrial]:
        """Every trial of the study, by number."""
        return sorted(
            (trial_record(t) for t in self.study.get_trials(deepcopy=False)), key=lambda t: t.number
        )

    @property
    def best(self) -> SweepTrial | None:
        """The completed trial with the lowest objective (None before one completes)."""
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        return min(done, key=lambda t: (t.value, t.number)) if done else None

    def options(self, trial: SweepTrial | int | None = None) -> dict[str, Any]:
        """The solve options of ``trial`` (a trial or its number; default the best one)."""
        chosen = self._trial(trial)
        missing = [k for k in self.space if k not in chosen.params]
        if missing:
            raise ConfigError(
                f"trial {chosen.number} of study {self.study.study_name!r} has no value for {missing}: "
                "it was sampled from another search space"
            )
        return apply_params(self.base, {k: d.decode(chosen.params[k]) for k, d in self.space.items()})

    def python(self, trial: SweepTrial | int | None = None) -> str:
        """The configuration of ``trial`` (default the best) as a Python file."""
        chosen = self._trial(trial)
        options = self.options(chosen)
        value = "-" if chosen.value is None else f"{chosen.value:.4e}"
        lines = [
            f'"""Trial {chosen.number} of sweep study {self.study.study_name!r} on {self.problem.name}: '
            f'{self.objective} = {value} (seed {chosen.seed})."""',
            "",
            "import pinnopt as po",
            "",
            f"SEED = {chosen.seed}",
            "",
            "",
            "def options():",
            '    """Solve options of the trial; solve with:',
            '    po.workflows.run_configuration(problem, seed=SEED, **options())"""',
            "    return " + options_source(options, "    "),
        ]
        if self.problem.name in problems.names():
            lines += [
                "",
                "",
                'if __name__ == "__main__":',
                "    import pinnopt.problems",
                "",
                f"    problem = pinnopt.problems.module({self.problem.name!r}).make_problem()",
                "    result = po.workflows.run_configuration(problem, seed=SEED, **options())",
                "    print(result.validate())",
            ]
        return "\n".join(lines) + "\n"

    def solve_best(self, **overrides: Any) -> Result | MarchResult:
        """Solve the problem again with the best configuration and its seed (``overrides``
        replace solve options, e.g. ``phases=``)."""
        best = self._trial(None)
        options = {
            **self.options(best),
            "seed": best.seed if best.seed is not None else self.seed,
            **overrides,
        }
        return run_configuration(self.problem, **options)

    def _trial(self, trial: SweepTrial | int | None) -> SweepTrial:
        if isinstance(trial, SweepTrial):
            return trial
        if trial is None:
            best = self.best
            if best is None:
                raise ConfigError(f"study {self.study.study_name!r} has no completed trial yet")
            return best
        found = [t for t in self.trials if t.number == trial]
        if not found:
            raise ConfigError(f"study {self.study.study_name!r} has no trial {trial}")
        return found[0]


# -- files ----------------------------------------------------------------------------------------
_COLUMNS = ("number", "state", "value", "loss", "seed", "time_s", "steps", "stop_reason", "reason")


def _rows(result: SweepResult) -> tuple[list[str], list[dict[str, Any]]]:
    trials = result.trials
    names = list(dict.fromkeys([*result.space, *(k for t in trials for k in t.params)]))
    header = ["number", "state", "value", *names, *_COLUMNS[3:]]
    rows = []
    for t in trials:
        row: dict[str, Any] = {c: getattr(t, c) for c in _COLUMNS}
        row.update({k: t.params.get(k) for k in names})
        rows.append(row)
    return header, rows


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _csv(header: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in header})
    return buf.getvalue()


def _markdown(header: list[str], rows: list[dict[str, Any]], best: int | None) -> str:
    def cell(key: str, value: Any) -> str:
        if value is None:
            return ""
        text = f"{value:.3e}" if key in ("value", "loss") and isinstance(value, float) else _short(value)
        return text.replace("|", "\\|").replace("\n", " ")

    cols = [c for c in header if c != "reason"] + ["reason"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        cells = [cell(c, row.get(c)) for c in cols]
        if row["number"] == best:
            cells[0] = f"**{cells[0]}** (best)"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary(result: SweepResult) -> dict[str, Any]:
    """The JSON-ready report of a sweep."""
    trials = result.trials
    best = result.best
    counts = {s: sum(t.state == s for t in trials) for s in ("complete", "pruned", "failed", "running")}
    return {
        "problem": result.problem.name,
        "study": result.study.study_name,
        "storage": result.storage,
        "objective": result.objective,
        "seed": result.seed,
        "pruner": result.pruner,
        "space": {k: python_source(v) for k, v in result.space.items()},
        "trials": counts,
        "interrupted": result.interrupted,
        "best": None if best is None else {**best.__dict__, "params": dict(best.params)},
        "baseline": None if result.baseline is None else dict(result.baseline),
    }


def _report_markdown(report: dict[str, Any], table: str, files: Mapping[str, Path]) -> str:
    best, base = report["best"], report["baseline"]
    lines = [f"# Sweep of {report['problem']}: study {report['study']!r}", ""]
    lines.append(
        f"Objective: {report['objective']} (lower is better), seed {report['seed']}; "
        f"storage {report['storage']}; pruner {report['pruner']}."
    )
    lines.append("Trials: " + ", ".join(f"{n} {s}" for s, n in report["trials"].items() if n) + ".")
    lines.append("")
    if best is None:
        lines.append("No trial completed.")
    else:
        lines += [f"## Best trial: {best['number']}", "", f"{report['objective']} = {best['value']:.4e}", ""]
        lines += ["```python", best["config"], "```", ""]
    if base is not None:
        value = base.get("value")
        text = "-" if value is None else f"{value:.4e}"
        lines += [
            f"Base configuration, same seed: {report['objective']} = {text}"
            + (f" ({base['reason']})" if base.get("reason") else ""),
            "",
        ]
    if report["interrupted"]:
        lines += ["The sweep was interrupted (Ctrl-C).", ""]
    lines += ["## Trials", "", table]
    for kind in ("history", "importance"):
        if kind in files:
            lines += [f"![{kind}]({files[kind].name})", ""]
    return "\n".join(lines)


def write_sweep(result: SweepResult, *, plots: bool = True) -> dict[str, Path]:
    """Write the trials table, the report, ``best.py`` and the plots into ``result.out``."""
    out = result.out
    if out is None:
        return {}
    header, rows = _rows(result)
    best = result.best
    files: dict[str, Path] = {}
    files["csv"] = write_text_atomic(out / "trials.csv", _csv(header, rows))
    table = _markdown(header, rows, None if best is None else best.number)
    files["table"] = write_text_atomic(out / "trials.md", table)
    if best is not None:
        files["best"] = write_text_atomic(out / "best.py", result.python(best))
    report = summary(result)
    if plots:
        base = (result.baseline or {}).get("value")
        files["history"] = plot_history(result.trials, result.objective, out / "history.png", base)
        importance = plot_importance(result.study, out / "importance.png")
        if isinstance(importance, Path):
            files["importance"] = importance
        else:
            report["importance"] = importance
    report["files"] = {k: p.name for k, p in files.items()}
    files["markdown"] = write_text_atomic(out / "sweep.md", _report_markdown(report, table, files))
    files["report"] = write_json(report, out / "sweep.json")
    return files
