"""Runtime(matmul_precision=): applied during training only, restored, refused or warned by name."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

import pinnopt as po
from pinnopt import problems
from pinnopt.cli import build_parser, main
from pinnopt.errors import ConfigError, PinnoptWarning


def _solve(dtype: str, precision: str | None, seen: list[str]) -> po.Result:
    return po.solve(
        problems.get("poisson1d"),
        model=po.nn.MLP(width=4, depth=1),
        collocation=po.Collocation(interior=16, boundary=1),
        phases=[po.optim.Adam(steps=4)],
        log_every=2,
        dtype=dtype,
        callbacks=[lambda view, step: seen.append(torch.get_float32_matmul_precision())],
        runtime=po.Runtime(progress=False, matmul_precision=precision),
    )


def test_precision_applies_during_training_and_is_restored() -> None:
    before = torch.get_float32_matmul_precision()
    seen: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", PinnoptWarning)
        result = _solve("float32", "high", seen)
    assert seen and set(seen) == {"high"}
    assert torch.get_float32_matmul_precision() == before
    assert result.config["matmul_precision"] == "high"


def test_default_leaves_torch_setting_alone() -> None:
    seen: list[str] = []
    result = _solve("float32", None, seen)
    assert set(seen) == {torch.get_float32_matmul_precision()}
    assert result.config["matmul_precision"] is None


def test_scope_restores_after_an_error() -> None:
    before = torch.get_float32_matmul_precision()
    with pytest.raises(KeyError), po.Runtime(matmul_precision="medium").precision_scope():
        assert torch.get_float32_matmul_precision() == "medium"
        raise KeyError("boom")
    assert torch.get_float32_matmul_precision() == before


def test_float64_run_warns_and_records() -> None:
    seen: list[str] = []
    with pytest.warns(PinnoptWarning, match="matmul_precision='high'.*no effect.*float64"):
        result = _solve("float64", "high", seen)
    assert result.config["matmul_precision"] == "high"
    assert result.config["matmul_precision_effective"] is False
    (note,) = result.config["notes"]
    assert note.startswith("Runtime(matmul_precision='high') had no effect") and "float64" in note
    assert "matmul_precision_effective" not in _solve("float32", "high", seen).config


def test_the_cli_report_notes_that_it_had_no_effect(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["solve", "poisson1d", "--steps", "2", "--matmul-precision", "high", "--no-plots", "--quiet"]
    with pytest.warns(PinnoptWarning, match="no effect"):
        assert main([*argv, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["matmul_precision_effective"] is False
    assert any("matmul_precision='high') had no effect" in n for n in report["notes"])
    assert "had no effect" in (out / "report.md").read_text()


@pytest.mark.parametrize("bad", ["tf32", "HIGH", 1])
def test_bad_value_is_refused_by_name(bad: object) -> None:
    with pytest.raises(ConfigError, match="matmul_precision"):
        po.Runtime(matmul_precision=bad)  # type: ignore[arg-type]


def test_cli_flag() -> None:
    args = build_parser().parse_args(["solve", "poisson1d", "--matmul-precision", "high"])
    assert args.matmul_precision == "high"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["solve", "poisson1d", "--matmul-precision", "tf32"])
