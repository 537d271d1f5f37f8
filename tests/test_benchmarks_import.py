"""Every benchmark module imports, and those with a command line parse ``--help``.

The benchmarks run outside the timed suite, so an API change that breaks one would go
unnoticed until somebody reruns it; this catches the breakage that shows at import time
(renamed or moved names) and in the argument parsers, for a few seconds.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import benchmarks

MODULES = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__))


def test_the_benchmark_list_is_not_empty() -> None:
    assert {"accuracy", "speed_peers", "batch_norm", "optimizers"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_imports_and_parses_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    main = getattr(module, "main", None)
    if main is None or not inspect.signature(main).parameters:
        return  # a library module of the benchmarks, or a script without options
    source = inspect.getsource(module)
    if "argparse" not in source:
        return  # positional arguments of its own (e.g. a seed), not an argparse command line
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert "usage:" in capsys.readouterr().out
