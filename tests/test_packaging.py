"""Packaging: the built wheel ships the problem library; every subpackage is listed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_pinnopt_folder_is_listed_in_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(("pinnopt", *p.parent.relative_to(ROOT / "pinnopt").parts))
        for p in (ROOT / "pinnopt").rglob("__init__.py")
    }
    assert found | {"pinnopt.problems"} == listed


@pytest.mark.slow
def test_built_wheel_contains_the_problem_library(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("pinnopt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    problems = {n for n in names if n.startswith("pinnopt/problems/")}
    assert "pinnopt/problems/__init__.py" in problems
    assert "pinnopt/problems/burgers.py" in problems
    shipped = {Path(n).stem for n in problems if n.endswith(".py") and not Path(n).stem.startswith("_")}
    in_repo = {p.stem for p in (ROOT / "problems").glob("*.py") if not p.stem.startswith("_")}
    assert shipped == in_repo
    assert not any(n.startswith("problems/") or n.startswith("tests/") for n in names)
    assert "pinnopt/py.typed" in names  # type checkers read pinnopt's annotations


def test_the_package_is_marked_typed() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["pinnopt"]
    assert (ROOT / "pinnopt" / "py.typed").is_file()
    extras = config["project"]["optional-dependencies"]
    assert any(r.startswith("tensorboard") for r in extras["tensorboard"])
    assert any(r.startswith("meshio") for r in extras["vtk"])
