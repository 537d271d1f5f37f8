"""Render the README's benchmark tables from the stored JSON results.

    python -m benchmarks.tables            # print the Markdown
    python -m benchmarks.tables --write    # replace the README section between the markers
    python -m benchmarks.tables --check    # exit 1 if the README is out of date

tests/test_tables.py checks that the README holds exactly what this renders.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import RESULTS

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def accuracy_table(results: Path = RESULTS) -> list[str]:
    files = sorted((results / "accuracy").glob("*.json"))
    if not files:
        return []
    lines = [
        "### Accuracy (relative L2 against the exact or reference solution)",
        "",
        "| problem | rel. L2 | target | met | steps | wall time | dtype | stopped |",
        "|---|---|---|---|---|---|---|---|",
    ]
    dates = set()
    for f in files:
        r = _load(f)
        dates.add(r["created"][:10])
        worst = max(m["rel_l2"] for m in r["metrics"].values())
        per = ", ".join(f"{k} {v['rel_l2']:.1e}" for k, v in r["metrics"].items())
        shown = per if len(r["metrics"]) > 1 else f"{worst:.2e}"
        met = "yes" if worst <= r["target_rel_l2"] else "**no**"
        lines.append(
            f"| {r['problem']}{'' if r.get('seed', 0) == 0 else ' (seed ' + str(r['seed']) + ')'} "
            f"| {shown} | {r['target_rel_l2']:.0e} | {met} | {r['steps']} | {r['wall_time_s']:.0f} s "
            f"| {r['dtype']} | {r['stop_reason']} |"
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


def render(results: Path = RESULTS) -> str:
    """The Markdown between the README markers."""
    parts = accuracy_table(results) + speed_table(results)
    return "\n".join(parts).strip() + "\n" if parts else "(no benchmark results stored yet)\n"


def readme_section(text: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    body = render()
    text = README.read_text()
    if args.write:
        start, end = text.index(START) + len(START), text.index(END)
        README.write_text(text[:start] + "\n" + body + text[end:])
        return 0
    if args.check:
        ok = readme_section(text) == body
        print("README tables are up to date" if ok else "README tables are out of date")
        return 0 if ok else 1
    sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
