"""The Markdown summary of a run, rendered from its JSON report alone.

Because it reads only the report (and the plot file names listed in it), ``pinnopt
report DIR`` can re-render it from a saved run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PLOT_TITLES = {
    "loss": "Loss history per term",
    "solution": "Prediction versus exact solution",
    "heatmap": "Prediction, exact solution and pointwise error",
    "slices": "Solution at three times",
    "parameters": "Fitted parameters during training",
    "landscape_1d": "Loss along a random filter-normalized direction",
    "landscape_2d": "Loss on a plane of two random filter-normalized directions",
    "convexity": "Convexity probe along lines through the solution",
    "feasibility": "Feasibility of the bounds",
}


def _g(value: Any, spec: str = ".3e") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, (int, float)):
        return format(value, spec)
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def markdown_report(report: Mapping[str, Any]) -> str:
    """A Markdown page: outcome, errors, check, losses, plots (linked), configuration."""
    lines = [f"# pinnopt run: {report.get('problem')}", ""]
    if report.get("description"):
        lines += [str(report["description"]), ""]
    phases = ", ".join(f"{p['name']} {p['steps']}" for p in report.get("phases", []))
    hist = report.get("history") or {}
    wall = report.get("wall_time_s")
    rows = [
        ["stopped", f"`{report.get('stop_reason')}`: {report.get('stop_hint') or ''}"],
        ["steps", f"{report.get('steps')}" + (f" ({phases})" if phases else "")],
        ["wall time", "n/a" if wall is None else f"{wall:.1f} s"],
        ["device, dtype", f"{report.get('device')}, {report.get('dtype')}"],
        ["seed", str(report.get("seed"))],
        ["final loss", _g(hist.get("final_loss"))],
    ]
    if report.get("status") not in (None, "completed"):
        rows.insert(0, ["status", f"**{report.get('status')}**"])
    if report.get("source"):
        src = report["source"]
        rows.append(["problem source", f"{src.get('kind')}: `{src.get('name') or src.get('path')}`"])
    lines += [*_table(["", ""], rows), ""]
    metrics = report.get("metrics")
    word = report.get("reference") or "exact"
    lines.append(f"## Error against the {word} solution")
    lines.append("")
    if not metrics:
        lines += ["Not validated (no exact or reference solution, or validation was skipped).", ""]
    else:
        dtype = report.get("eval_dtype", report.get("dtype"))
        shifted = report.get("up_to_constant") or []
        lines.append(f"On {report.get('eval_points')} evaluation points, {dtype}.")
        if shifted:
            lines.append(
                f"Compared up to an additive constant (means removed): {', '.join(map(str, shifted))}."
            )
        lines.append("")
        rows = []
        for u, m in metrics.items():
            mape = m.get("mape")
            rows.append(
                [
                    u,
                    _g(m.get("rel_l2")),
                    _g(m.get("max_abs")),
                    _g(m.get("mse")),
                    "n/a" if mape is None else f"{100 * mape:.3g} %",
                ]
            )
        lines += _table(["unknown", "relative L2", "max abs", "MSE", "MAPE"], rows)
        notes = [f"{u}: {m['mape_note']}" for u, m in metrics.items() if m.get("mape_note")]
        notes += [
            f"{u}: MAPE skips {m['mape_excluded']} points where the {word} solution is near zero"
            for u, m in metrics.items()
            if m.get("mape_excluded") and not m.get("mape_note")
        ]
        lines += [""] + [f"- {n}" for n in notes] + ([""] if notes else [])
    params = report.get("parameter_errors") or {}
    fitted = report.get("parameters") or {}
    if fitted:
        lines += ["### Fitted parameters", ""]
        rows = [
            [
                k,
                _g(v, ".6g"),
                _g(params.get(k, {}).get("exact"), ".6g"),
                _g(params.get(k, {}).get("rel_error")),
            ]
            for k, v in fitted.items()
        ]
        lines += [*_table(["parameter", "fitted", "exact", "relative error"], rows), ""]
    lines += _trajectory(report.get("parameter_trajectory"))
    check = report.get("check")
    if check:
        lines += [f"## Check of the problem against the {word} solution", ""]
        rows = [
            [
                t["name"],
                t["method"],
                {True: "ok", False: "**FAIL**", None: "skipped"}[t["passed"]],
                _g(t.get("rel"), ".2e"),
                t.get("detail", ""),
            ]
            for t in check["terms"]
        ]
        lines += [*_table(["term", "method", "status", "relative residual", "detail"], rows), ""]
    lines += _hard_constraints((report.get("config") or {}).get("hard_constraints_detail"))
    lines += _feasibility(report.get("feasibility"))
    lines += _robust(report.get("robust"))
    final_terms = hist.get("final_terms") or {}
    if final_terms:
        lines += ["## Loss terms at the last step", ""]
        lines += [*_table(["term", "loss (unweighted)"], [[k, _g(v)] for k, v in final_terms.items()]), ""]
    plots = report.get("plots") or {}
    if plots:
        lines += ["## Plots", ""]
        for kind, file in plots.items():
            title = PLOT_TITLES.get(kind, kind).replace("exact solution", f"{word} solution")
            lines += [f"### {title}", "", f"![{title}]({file})", ""]
    notes = report.get("notes") or []
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    versions = report.get("versions") or {}
    if versions:
        lines += ["## Versions", ""]
        lines += [*_table(["package", "version"], [[k, str(v)] for k, v in versions.items()]), ""]
    return "\n".join(lines).rstrip() + "\n"


def _trajectory(trajectory: Mapping[str, Any] | None) -> list[str]:
    """The fitted parameters at a few steps of training (step 0: the initial guesses)."""
    if not trajectory or not trajectory.get("step"):
        return []
    names = [k for k in trajectory if k != "step"]
    rows = [
        [str(step), *(_g(trajectory[n][i], ".6g") for n in names)]
        for i, step in enumerate(trajectory["step"])
    ]
    return ["### Parameter trajectory", "", *_table(["step", *names], rows), ""]


def _hard_constraints(detail: Mapping[str, Any] | None) -> list[str]:
    """The hard-constraints section: what was enforced exactly and what was left soft, and why."""
    if not detail:
        return []
    lines = ["## Hard constraints", ""]
    mode = detail.get("mode")
    if mode:
        lines += [f"Mode: `{mode}`.", ""]
    enforced = detail.get("enforced") or {}
    soft = detail.get("soft") or {}
    rows = [[u, ", ".join(f"`{n}`" for n in names), "exact"] for u, names in enforced.items()]
    rows += [["", f"`{name}`", f"left soft (loss term): {why}"] for name, why in soft.items()]
    return [*lines, *_table(["unknown", "conditions", "status"], rows), ""]


def _feasibility(feas: Mapping[str, Any] | None) -> list[str]:
    """The feasibility section: how each bound and equality holds after training."""
    if not feas:
        return []
    status = "every constraint holds" if feas.get("feasible") else "**some constraint is violated**"
    lines = [
        "## Feasibility of the bounds and equalities",
        "",
        f"{status} (tolerance {_g(feas.get('tol'))}).",
        "",
    ]
    rows = [
        [
            f"`{e['name']}`",
            e.get("method", ""),
            str(e.get("n_points")),
            _g(e.get("max_violation")),
            _g(e.get("min_slack")),
            "yes" if e.get("active") else "no",
        ]
        for e in feas.get("constraints") or []
    ]
    return [
        *lines,
        *_table(["constraint", "method", "points", "max violation", "min slack", "active"], rows),
        "",
    ]


def _robust(rob: Mapping[str, Any] | None) -> list[str]:
    """The robust section: worst case found per group, and the dense certificate."""
    if not rob:
        return []
    lines = [
        "## Worst case over the uncertainty set",
        "",
        f"Objective: nominal {_g(rob.get('nominal_objective'), '.6g')}, worst case "
        f"{_g(rob.get('robust_objective'), '.6g')}; certified: {rob.get('certified')}.",
        "",
    ]
    rows = [
        [
            f"`{g.get('name')}`",
            ", ".join(f"{k}={_g(v, '.6g')}" for k, v in (g.get("worst") or {}).items()),
            _g(g.get("worst_value"), ".6g"),
            _g(g.get("certificate_value"), ".6g"),
        ]
        for g in rob.get("groups") or []
    ]
    return [*lines, *_table(["group", "worst", "worst value", "dense check"], rows), ""]
