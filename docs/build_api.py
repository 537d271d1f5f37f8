"""Build the API reference of pinnopt from its docstrings with pdoc (``make docs``).

    python docs/build_api.py [OUTPUT_FOLDER]      # default: build/api

The reference covers the public namespaces (``pinnopt.__all__`` and each namespace's
``__all__``). Any warning pdoc raises while building (a name in ``__all__`` that does not
resolve, an annotation it cannot evaluate, a docstring it cannot convert) fails the build.
pdoc is in the ``test`` extra: ``pip install -e ".[test]"``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path


def build(output: str | Path = "build/api") -> list[str]:
    """Write the HTML reference into ``output``; return pdoc's warnings (empty: a clean build)."""
    try:
        import pdoc
        import pdoc.render
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit('the API reference needs pdoc: pip install -e ".[test]"') from exc
    import pinnopt

    # names loaded on first use (they import matplotlib): load them, so pdoc finds them
    for name in pinnopt.validate.__all__:
        getattr(pinnopt.validate, name)
    pdoc.render.configure(docformat="google", show_source=False, search=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc("pinnopt", output_directory=Path(output))
    return [str(w.message) for w in caught if "pdoc" in w.filename]


def main(argv: list[str]) -> int:
    """Build into ``argv[0]`` (default build/api); exit status 1 on any warning."""
    out = Path(argv[0]) if argv else Path("build/api")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's pinnopt
    problems = build(out)
    for text in problems:
        print(f"warning: {text}", file=sys.stderr)
    print(f"API reference: {out / 'index.html'}" + (f" ({len(problems)} warnings)" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
