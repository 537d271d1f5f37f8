"""Render the README's benchmark tables from the stored JSON results.

    python -m benchmarks.tables            # print the Markdown
    python -m benchmarks.tables --write    # replace the sections between the markers
    python -m benchmarks.tables --check    # exit 1 if the README or docs are out of date

The README's benchmark section and the strategies table of docs/strategies.md are
rendered; tests/test_tables.py checks that both hold exactly what this renders.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .common import RESULTS

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
STRATEGIES_DOC = README.parent / "docs" / "strategies.md"
STRATEGIES_START, STRATEGIES_END = "<!-- strategies-table:start -->", "<!-- strategies-table:end -->"


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def accuracy_table(results: Path = RESULTS) -> list[str]:
    files = sorted((results / "accuracy").glob("*.json"))
    if not files:
        return []
    lines = [
        "### Accuracy (relative L2 against the exact or reference solution)",
        "",
        "For inverse problems the target applies to the fitted coefficients (relative error); "
        "the relative L2 of the state is shown beside it.",
        "",
        "| problem | rel. L2 | fitted coefficients (rel. error) | target | met | steps | wall time "
        "| dtype | stopped | strategies |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    dates = set()
    for f in files:
        r = _load(f)
        dates.add(r["created"][:10])
        worst = max(m["rel_l2"] for m in r["metrics"].values())
        per = ", ".join(f"{k} {v['rel_l2']:.1e}" for k, v in r["metrics"].items())
        shown = per if len(r["metrics"]) > 1 else f"{worst:.2e}"
        params = r.get("parameter_errors") or {}
        fitted = ", ".join(f"{k} {v['rel_error']:.1e}" for k, v in params.items()) or "-"
        judged = max(v["rel_error"] for v in params.values()) if params else worst
        met = "yes" if judged <= r["target_rel_l2"] else "**no**"
        used_list = list(r.get("strategies") or [])
        if (r.get("config") or {}).get("hard_constraints"):
            used_list.append("hard constraints")
        used = ", ".join(used_list) or "-"
        lines.append(
            f"| {r['problem']}{'' if r.get('seed', 0) == 0 else ' (seed ' + str(r['seed']) + ')'} "
            f"| {shown} | {fitted} | {r['target_rel_l2']:.0e} | {met} | {r['steps']} "
            f"| {r['wall_time_s']:.0f} s | {r['dtype']} | {r['stop_reason']} | {used} |"
        )
    machine = _load(files[0])["machine"]
    lines += [
        "",
        f"Measured {', '.join(sorted(dates))} on {machine['cpu_count']} CPU cores "
        f"({machine['processor']}), torch threads {machine['torch_threads']}. "
        "Rerun: `python -m benchmarks.accuracy` then `python -m benchmarks.tables --write`.",
        "",
    ]
    return lines


def speed_table(results: Path = RESULTS) -> list[str]:
    path = results / "speed_step.json"
    if not path.exists():
        return []
    r = _load(path)
    lines = [
        "### Trainer overhead (steps/s, side by side in one process)",
        "",
        f"Burgers configuration ({r['config']['model']}, {r['config']['points']} points, "
        f"{r['config']['optimizer']}, {r['config']['derivatives']} derivatives in both).",
        "",
        "| dtype | pinnopt steps/s | hand-written loop steps/s | ratio (median of rounds) |",
        "|---|---|---|---|",
    ]
    for dtype, res in r["results"].items():
        sp = res["steps_per_s"]
        ratio = res["pinnopt_over_hand"]
        lines.append(
            f"| {dtype} | {max(sp['pinnopt']):.1f} | {max(sp['hand']):.1f} | "
            f"{ratio['median']:.2f} (range {ratio['min']:.2f}-{ratio['max']:.2f}) |"
        )
    lines += ["", f"Measured {r['created'][:10]}. Rerun: `{r['command']}`.", ""]
    return lines


_PEER_COLUMNS = [
    ("pinnopt", "pinnopt"),
    ("pinnopt_compiled", "pinnopt, compiled"),
    ("hand", "hand-written loop"),
    ("deepxde", "DeepXDE"),
]


def _ratio(r: dict | None) -> str:
    return "-" if r is None else f"x{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"


def peers_table(results: Path = RESULTS) -> list[str]:
    """Steps/s side by side with DeepXDE and a hand loop, and the time to DeepXDE's Burgers error."""
    path = results / "speed_peers.json"
    if not path.exists():
        return []
    r = _load(path)
    return _peer_steps_lines(r) + _floor_lines(results) + _peer_error_lines(r)


def _floor_lines(results: Path) -> list[str]:
    """How much of a step is matrix products (benchmarks/speed_floor.py), when measured."""
    path = results / "speed_floor.json"
    if not path.exists():
        return []
    r = _load(path)
    cases = r["results"]
    parts = [
        f"{n} {e['ms_per_step']['products']:.1f} of {e['ms_per_step']['pinnopt']:.1f} ms "
        f"(hand-written loop {e['ms_per_step']['hand']:.1f} ms; x{e['bound_over_hand']:.2f} the products' "
        f"time, pinnopt x{e['pinnopt_over_hand']:.2f})"
        for n, e in cases.items()
    ]
    return [
        "The matrix products alone, timed with pinnopt's shapes side by side with both steps "
        "(the fused step and the hand-written loop do the same product work on these cases, so "
        "hand-loop time over product time bounds what an eager step can gain over it): "
        + "; ".join(parts)
        + f". Measured {r['created'][:10]}, cpu clock. Rerun: `{r['command'].strip()}`.",
        "",
    ]


def _hand_goal(e: dict) -> str:
    """`` (target >= xR: met)`` for a case with a target over the hand-written loop."""
    t = e.get("hand_target")
    if not t:
        return ""
    return f" (target >= x{t['required']:g}: {'met' if t['eager'] >= t['required'] else '**missed**'})"


def _peer_steps_lines(r: dict) -> list[str]:
    res = r["results"]
    lines: list[str] = []
    steps, cfg = res.get("steps"), res.get("steps_config", {})
    if steps:
        lines += [
            "### Speed against DeepXDE (steps/s, side by side in one process)",
            "",
            f"Float32, full-batch Adam, each library's standard formulation; DeepXDE {r.get('deepxde')} "
            "(PyTorch backend) also evaluates the PDE on its boundary and initial points. "
            "Median steps/s over rounds; ratios are medians of per-round ratios (range in brackets).",
            "",
            "| case | network | points | "
            + " | ".join(label + " steps/s" for _, label in _PEER_COLUMNS)
            + " | pinnopt / DeepXDE | compiled / DeepXDE | target | compile time |",
            "|---|---|---|" + "---|" * (len(_PEER_COLUMNS) + 4),
        ]
        for name, e in steps.items():
            sps = e["steps_per_s"]
            cells = [f"{sps[k]:.2f}" if k in sps else "-" for k, _ in _PEER_COLUMNS]
            target = e.get("target")
            goal = "-"
            if target:
                parts = [
                    f"{m} {'met' if v >= target['required'] else '**missed**'}"
                    for m, v in (("eager", target["eager"]), ("compiled", target["compiled"]))
                    if v is not None
                ]
                goal = f">= x{target['required']:g}: " + ", ".join(parts)
            compile_s = f"{e['compile_s']:.0f} s" if e.get("compile_s") is not None else "-"
            lines.append(
                f"| {name} | {e['network']} | {e['points']} | "
                + " | ".join(cells)
                + f" | {_ratio(e['ratios'].get('pinnopt/deepxde'))} | "
                f"{_ratio(e['ratios'].get('pinnopt_compiled/deepxde'))} | {goal} | {compile_s} |"
            )
        lines += [
            "",
            "Framework overhead (pinnopt with reverse-mode autograd and the per-parameter Adam loop, "
            "i.e. the hand-written loop's math and kernels, over the hand-written loop): "
            + ", ".join(f"{n} {_ratio(e['ratios'].get('pinnopt_autograd/hand'))}" for n, e in steps.items())
            + ". Default pinnopt over the hand-written loop: "
            + ", ".join(
                f"{n} {_ratio(e['ratios'].get('pinnopt/hand'))}{_hand_goal(e)}" for n, e in steps.items()
            )
            + ".",
            "",
            f"Measured {cfg.get('date', r['created'][:10])}, {cfg.get('clock', 'wall')} clock, "
            f"torch threads {cfg.get('torch_threads', r['machine']['torch_threads'])}, "
            f"{r['machine']['cpu_count']} CPU cores "
            f"shared with other jobs (load average "
            + ", ".join(f"{e['load_average'][0]:.1f}" for e in steps.values())
            + f"). Rerun: `{cfg.get('command', r['command'])}`.",
            "",
        ]
    return lines


def _phases(text: str) -> str:
    """``Adam(steps=2000, ...) + LBFGS(steps=5000, ...)`` -> ``Adam 2000 + L-BFGS <= 5000``."""
    parts = []
    for name, steps in re.findall(r"(\w+)\(steps=(\d+)", text):
        parts.append(f"L-BFGS <= {steps}" if name == "LBFGS" else f"{name} {steps}")
    return " + ".join(parts) or text


def _peer_error_lines(r: dict) -> list[str]:
    lines: list[str] = []
    err = r["results"].get("error")
    if err:
        d = err["deepxde"]
        lines += [
            "### Time to DeepXDE's final error on its Burgers recipe",
            "",
            f"DeepXDE ({d['recipe']}, {d['dtype']}) ends at relative L2 **{d['rel_l2']:.3e}** against the "
            f"Cole-Hopf solution (256 x 100 grid) after {d['wall_s']:.0f} s wall ({d['cpu_s']:.0f} s CPU); "
            f"its L-BFGS phase ran {d['lbfgs']['n_iter']} iterations "
            f"({d['lbfgs']['func_evals']} evaluations) "
            "and stopped. pinnopt, same network and points, stops at that error (`po.stop.MetricThreshold`, "
            "metric every 100 steps); times include problem setup and compilation.",
            "",
            "| run | dtype | phases | points | reached | steps | rel. L2 | wall time | CPU time "
            "| wall / DeepXDE's | CPU / DeepXDE's |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            f"| DeepXDE | {d['dtype']} | Adam {d['adam_steps']} + L-BFGS | Hammersley | - | - | "
            f"{d['rel_l2']:.3e} | {d['wall_s']:.0f} s | {d['cpu_s']:.0f} s | 1 | 1 |",
        ]
        best: dict[str, float] = {}
        for name, p in err["pinnopt"].items():
            ratios = {"wall": p["wall_s"] / d["wall_s"], "cpu": p["cpu_s"] / d["cpu_s"]}
            if p["reached"]:
                for k, v in ratios.items():
                    best[k] = min(best.get(k, v), v)
            cells = [f"x{v:.2f}" if p["reached"] else "-" for v in ratios.values()]
            lines.append(
                f"| {name} | {p['dtype']} | {_phases(p['phases'])} | {p.get('points', '-')} | "
                f"{'yes' if p['reached'] else '**no**'} | {p['steps']} | {p['rel_l2']:.3e} | "
                f"{p['wall_s']:.0f} s | {p['cpu_s']:.0f} s | {cells[0]} | {cells[1]} |"
            )
        req = err["target"]["required"]
        verdicts = [
            f"{k} clock {'met' if k in best and best[k] <= req else '**missed**'}"
            + (f" (best x{best[k]:.2f})" if k in best else "")
            for k in ("wall", "cpu")
        ]
        lines += [
            "",
            f"Target <= x{req:g} of DeepXDE's time: "
            + ", ".join(verdicts)
            + f". Measured {err.get('date', r['created'][:10])}, torch threads {err.get('torch_threads')}, "
            f"load average {err['load_average'][0]:.1f} at the start and {err['load_average'][1]:.1f} at the "
            f"end (a shared machine: CPU time is the steadier measure). Rerun: "
            f"`{err.get('command', r['command'])}`.",
            "",
        ]
    return lines


_ORDER_COLUMNS = [
    ("nested", "nested autograd (hand loop)"),
    ("autograd", "pinnopt autograd"),
    ("taylor", "pinnopt Taylor"),
    ("taylor_fused", "pinnopt Taylor, fused"),
]


def _fused_top(r: dict) -> int:
    """The highest order measured with the fused runner (2 before issue 18)."""
    orders = [
        int(o)
        for res in r["results"].values()
        if isinstance(res, dict) and "orders" in res
        for o, row in res["orders"].items()
        if "taylor_fused" in row["ms_per_step"]
    ]
    return max(orders, default=2)


def derivative_table(results: Path = RESULTS, name: str = "derivative_order_cpu.json") -> list[str]:
    """Milliseconds per training step against the derivative order (nested autograd vs Taylor)."""
    path = results / name
    if not path.exists():
        return []
    r = _load(path)
    cfg = r.get("config", {})
    lines = [
        "### Cost of one training step against the derivative order",
        "",
        f"{cfg.get('model', '')}, {cfg.get('points', '')} points, residual `{cfg.get('residual', '')}`, "
        f"one step = {cfg.get('step', '')}; ms per step (median of rounds). The default path is the "
        f"fused Taylor node up to order {_fused_top(r)} and the general Taylor path above.",
        "",
        "| dtype | order | "
        + " | ".join(f"{label} ms" for _, label in _ORDER_COLUMNS)
        + " | default / nested | target |",
        "|---|---|" + "---|" * len(_ORDER_COLUMNS) + "---|---|",
    ]
    for dtype, res in r["results"].items():
        if not isinstance(res, dict) or "orders" not in res:
            continue
        for order, row in res["orders"].items():
            ms = row["ms_per_step"]
            cells = [f"{ms[k]:.1f}" if k in ms else "-" for k, _ in _ORDER_COLUMNS]
            speed = row["speedup_over_nested"]
            best = speed.get("taylor_fused", speed["taylor"])
            target = res.get("targets", {}).get(order)
            shown = (
                "-"
                if target is None
                else f">= x{target['required']:g}: " + ("met" if target["met"] else "**missed**")
            )
            lines.append(f"| {dtype} | {order} | " + " | ".join(cells) + f" | {_ratio(best)} | {shown} |")
    diff = r["results"].get("max_relative_field_difference_float64")
    if diff:
        worst = max(diff.values())
        lines += ["", f"Taylor and nested autograd derivatives agree to {worst:.1e} (relative, float64)."]
    lines += [
        "",
        f"Measured {r['created'][:10]}, {cfg.get('clock', 'wall')} clock, torch threads "
        f"{r['machine']['torch_threads']}. Rerun: `{r['command']}`.",
        "",
    ]
    return lines


def strategies_table(results: Path = RESULTS) -> list[str]:
    """Plain training against the recommended strategy combinations, per hard problem."""
    files = sorted(results.glob("strategies_*.json"))
    rows = []
    commands = []
    for f in files:
        r = _load(f)
        res = r["results"]
        if not isinstance(res, dict) or "summary" not in res:
            continue
        for run in res["runs"]:
            command = f"`{run.get('command') or 'python -m benchmarks.strategies ' + res['problem']}`"
            if command not in commands:
                commands.append(command)
        for config, s in res["summary"].items():
            used_list = sorted(s.get("strategies") or {}) + (
                ["hard constraints"] if s.get("hard_constraints") else []
            )
            used = ", ".join(used_list) or "none"
            rows.append(
                f"| {res['problem']} | {config} | {used} | {s['rel_l2_mean']:.2e} "
                f"({s['rel_l2_min']:.1e}-{s['rel_l2_max']:.1e}) | {len(s['seeds'])} | "
                f"{s['wall_time_s_max']:.0f} s | {s['dtype']} |"
            )
    if not rows:
        return []
    return [
        "### Training strategies on the hard problems",
        "",
        "`plain`: a standard PINN (periodicity as a soft loss term, no strategy); `plain_inflow`: the "
        "same given the exact side values as data; `plain_small`: a plain PINN of the size common in "
        "the failure-mode literature (4 x 50, 1000 points, L-BFGS only); `recommended`: the "
        "problem's recommended configuration; other rows are ablations (benchmarks/strategies.py; "
        "Allen-Cahn `marching` has soft initial and continuity conditions). `imbalance`: a two-term "
        "problem whose equation gradient is 1000x its condition's, 300 Adam steps per balancer. "
        "Relative L2 mean over seeds (min-max).",
        "",
        "| problem | configuration | strategies | rel. L2 | seeds | max wall time | dtype |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Rerun: " + ", ".join(commands) + ".",
        "",
    ]


def render(results: Path = RESULTS) -> str:
    """The Markdown between the README markers."""
    parts = accuracy_table(results) + strategies_table(results) + speed_table(results)
    parts += peers_table(results)
    parts += derivative_table(results)
    return "\n".join(parts).strip() + "\n" if parts else "(no benchmark results stored yet)\n"


def render_strategies(results: Path = RESULTS) -> str:
    """The Markdown between the markers of docs/strategies.md (the strategies table)."""
    lines = strategies_table(results)[2:]  # the document has its own heading
    return "\n".join(lines).strip() + "\n" if lines else "(no strategy benchmark results stored yet)\n"


def readme_section(text: str, start_marker: str = START, end_marker: str = END) -> str:
    start, end = text.index(start_marker) + len(start_marker), text.index(end_marker)
    return text[start:end].strip("\n") + "\n"


def _replace(text: str, body: str, start_marker: str, end_marker: str) -> str:
    start, end = text.index(start_marker) + len(start_marker), text.index(end_marker)
    return text[:start] + "\n" + body + text[end:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    body = render()
    text = README.read_text()
    doc_body = render_strategies()
    doc = STRATEGIES_DOC.read_text()
    if args.write:
        README.write_text(_replace(text, body, START, END))
        STRATEGIES_DOC.write_text(_replace(doc, doc_body, STRATEGIES_START, STRATEGIES_END))
        return 0
    if args.check:
        ok = readme_section(text) == body
        ok_doc = readme_section(doc, STRATEGIES_START, STRATEGIES_END) == doc_body
        print("README tables are up to date" if ok else "README tables are out of date")
        print(f"docs/strategies.md table is {'up to date' if ok_doc else 'out of date'}")
        return 0 if ok and ok_doc else 1
    sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
