"""The import structure the layer contract cannot see: no pinnopt import inside a function.

import-linter (``make test``) checks that imports flow one way between packages, and the
domain package's modules register their constructors with ``domain.base.builds`` instead
of importing each other back. What remains to guard is the escape hatch: a pinnopt import
placed inside a function hides a cycle from a reader (import-linter does see it). Imports
inside functions are for optional or slow third-party packages only (matplotlib, scipy,
optuna, ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pinnopt"


def _imports_pinnopt(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").startswith("pinnopt")
    return isinstance(node, ast.Import) and any(a.name.startswith("pinnopt") for a in node.names)


def _late_pinnopt_imports() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if _imports_pinnopt(node):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_pinnopt_import_inside_a_function() -> None:
    assert _late_pinnopt_imports() == []


def test_domain_operators_build_their_classes() -> None:
    import sympy as sp

    import pinnopt as po
    from pinnopt.domain import Difference, Intersection, Product, Union
    from pinnopt.domain.regions import Interior, PieceUnion

    x, y, t = sp.symbols("x y t")
    a = po.Box((x, y), (0, 0), (1, 1))
    b = po.Disk((x, y), (1, 1), 0.5)
    assert isinstance(a | b, Union) and isinstance(a & b, Intersection) and isinstance(a - b, Difference)
    assert isinstance(a * po.Interval(t, 0, 1), Product)
    assert isinstance(a.interior(), Interior) and isinstance(a.boundary(), PieceUnion)
