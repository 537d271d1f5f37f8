"""Every library problem has a quick configuration: a step budget (no time limit) that
``pinnopt solve NAME --quick`` picks; the README table of their measured accuracy is what
benchmarks/results/quick.json renders to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import pinnopt as po
from benchmarks import quick as quick_bench
from pinnopt import cli, problems
from pinnopt.errors import ProblemError
from pinnopt.train.stopping import Criterion
from pinnopt.workflows.sources import load_problem

NAMES = problems.names()


def _leaves(criterion: Criterion) -> Iterator[Criterion]:
    """Every criterion inside a ``|`` / ``&`` combination."""
    children = getattr(criterion, "children", None)
    if children is None:
        yield criterion
        return
    for child in children:
        yield from _leaves(child)


def _time_limits(config: dict[str, Any]) -> list[Criterion]:
    """The TimeLimit criteria of a configuration: in solve's ``stop`` and in each phase's."""
    criteria = [config.get("stop"), *(getattr(p, "stop", None) for p in config.get("phases", ()))]
    leaves = [c for stop in criteria if stop is not None for c in _leaves(stop)]
    return [c for c in leaves if isinstance(c, po.stop.TimeLimit)]


@pytest.mark.parametrize("name", NAMES)
def test_recommended_configurations_stop_on_step_budgets(name: str) -> None:
    assert not _time_limits(problems.recommended(name))


@pytest.mark.parametrize("name", NAMES)
def test_every_problem_has_a_step_budgeted_quick_configuration(name: str) -> None:
    config = problems.quick(name)
    phases = config["phases"]
    assert phases and all(int(p.steps) > 0 for p in phases)
    assert not _time_limits(config)
    budget = sum(p.steps for p in phases) * getattr(config.get("marching"), "windows", 1)
    full = problems.recommended(name)
    if any(isinstance(p, po.optim.LevenbergMarquardt) for p in full["phases"]):
        # One LM step builds a Jacobian (tens of L-BFGS steps of CPU), so step counts do not
        # compare; the quick budget's CPU time is measured by benchmarks/quick.py instead.
        return
    full_budget = sum(p.steps for p in full["phases"]) * getattr(full.get("marching"), "windows", 1)
    assert budget <= full_budget


def test_the_time_limit_walk_finds_a_nested_time_limit() -> None:
    stop = po.stop.CostThreshold(1e-8) | (po.stop.MaxSteps(10) & po.stop.TimeLimit(5))
    assert len(_time_limits({"stop": stop})) == 1
    assert len(_time_limits({"phases": [po.optim.Adam(steps=5, stop=po.stop.TimeLimit(1))]})) == 1


def test_a_problem_without_quick_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(problems.module("decay"), "quick")
    with pytest.raises(ProblemError, match="'decay' defines no quick"):
        problems.quick("decay")
    with pytest.raises(ProblemError, match="decay defines no quick"):
        load_problem("decay", "quick")


class _CapturedError(Exception):
    pass


@pytest.mark.parametrize("name", ["heat1d", "convection"])
def test_solve_quick_runs_the_quick_configuration(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(problem: po.Problem, **kwargs: Any) -> None:
        seen.update(kwargs, problem=problem)
        raise _CapturedError

    monkeypatch.setattr(cli, "run_configuration", fake_run)
    expected = problems.quick(name)
    with pytest.raises(_CapturedError):
        cli.main(
            ["solve", name, "--quick", "--quiet", "--no-plots", "--seed", "3", "--out", str(tmp_path / "o")]
        )
    assert seen["problem"].name == name and seen["seed"] == 3
    assert [repr(p) for p in seen["phases"]] == [repr(p) for p in expected["phases"]]
    assert repr(seen.get("marching")) == repr(expected.get("marching"))
    assert repr(seen["collocation"]) == repr(expected["collocation"])
    assert repr(seen["phases"]) != repr(problems.recommended(name)["phases"])  # not the recommended one


def test_quick_smoke_run_of_an_ode_problem() -> None:
    """A step-capped run of one quick configuration trains and validates."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = problems.quick("decay")
        config["phases"] = [po.optim.Adam(steps=200, lr=1e-2)]
        result = po.solve(problems.get("decay"), **config)
    finally:
        torch.set_num_threads(n)
    assert result.steps == 200
    assert result.validate().metrics["u"]["rel_l2"] < 0.1


def test_readme_quick_table_matches_the_stored_runs() -> None:
    text = quick_bench.README.read_text()
    assert quick_bench.readme_section(text) == quick_bench.table(quick_bench.load())
