"""The API reference: every public name documented, every docstring reference resolvable,
and the pdoc build (``make docs``) clean."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest

import pinnopt as po

ROOT = Path(__file__).resolve().parents[1]
NAMESPACES = [
    "optim",
    "stop",
    "sample",
    "balance",
    "robust",
    "init",
    "nn",
    "callbacks",
    "validate",
    "workflows",
    "symbolic",
    "domain",
]
ROLE = re.compile(r":(?:py:)?(mod|func|data|const|class|meth|attr|exc|obj):`~?([^`<>]+?)`")


def _own_doc(obj: object) -> str:
    """The object's own docstring ('' for a dataclass's generated signature line)."""
    if isinstance(obj, type):
        doc = obj.__doc__ or ""
        if dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
            return ""
        return doc.strip()
    return (inspect.getdoc(obj) or "").strip()


def _member_doc(cls: type, name: str, value: object) -> str:
    """A method's or property's docstring, inherited from a base class when it overrides one."""
    for klass in cls.__mro__:
        member = vars(klass).get(name)
        if member is None:
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        doc = member.fget.__doc__ if isinstance(member, property) and member.fget else member.__doc__
        if doc and doc.strip():
            return doc.strip()
    return ""


def public_names() -> list[tuple[str, object]]:
    spaces = [("pinnopt", po)] + [(f"pinnopt.{n}", getattr(po, n)) for n in NAMESPACES]
    out: list[tuple[str, object]] = []
    for space, module in spaces:
        out.append((space, module))
        for name in module.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType) or not callable(obj):
                continue  # namespaces are walked on their own; constants document themselves
            out.append((f"{space}.{name}", obj))
    return out


def test_every_public_name_has_a_docstring() -> None:
    missing = [name for name, obj in public_names() if not _own_doc(obj)]
    assert not missing, f"public names without a docstring: {missing}"


def test_public_methods_and_properties_have_docstrings() -> None:
    missing = set()
    for name, obj in public_names():
        if not isinstance(obj, type) or not obj.__module__.startswith("pinnopt"):
            continue
        for attr, value in vars(obj).items():
            raw = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if attr.startswith("_") or not (inspect.isfunction(raw) or isinstance(raw, property)):
                continue
            if not _member_doc(obj, attr, value):
                missing.add(f"{name}.{attr}")
    assert not missing, f"public methods or properties without a docstring: {sorted(missing)}"


def test_the_namespaces_walked_here_are_all_of_them() -> None:
    namespaces = {n for n in po.__all__ if isinstance(getattr(po, n), types.ModuleType)}
    assert namespaces == set(NAMESPACES)


def _resolve(target: str) -> bool:
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except (ImportError, TypeError, ValueError):
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return False
        return True
    return False


def _resolves_in(module: types.ModuleType, source: str, kind: str, target: str) -> bool:
    """A short reference resolves in its module: a module attribute, a member of one of its
    classes, a relative module path, or (``:attr:``) an instance attribute set there."""
    if target.startswith("."):
        package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
        rest = target[1:]
        while rest.startswith("."):
            rest, package = rest[1:], package.rpartition(".")[0]
        return _resolve(f"{package}.{rest}")
    head, _, rest = target.partition(".")
    for scope in [module, *(c for _, c in inspect.getmembers(module, inspect.isclass))]:
        if hasattr(scope, head):
            obj = getattr(scope, head)
            try:
                for part in rest.split(".") if rest else []:
                    obj = getattr(obj, part)
            except AttributeError:
                continue
            return True
    last = target.rpartition(".")[2]
    if kind == "attr" and re.search(rf"(self\.{last}\b|^\s+{last}:)", source, re.M):
        return True
    return _resolve(target) or _resolve(f"pinnopt.{target}")


def _instance_attribute(target: str) -> bool:
    """``pinnopt.mod.Class.name`` where ``Class`` sets ``self.name`` (or annotates ``name:``)."""
    owner, _, last = target.rpartition(".")
    if not _resolve(owner):
        return False
    parts = owner.split(".")
    for i in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        return bool(re.search(rf"(self\.{last}\b|^\s+{last}:)", inspect.getsource(module), re.M))
    return False


def test_docstring_references_resolve() -> None:
    """Every ``:class:`...``` style reference in the package points at something that exists."""
    broken = []
    for info in pkgutil.walk_packages(po.__path__, "pinnopt."):
        if info.name.startswith("pinnopt.problems"):
            continue
        module = importlib.import_module(info.name)
        source = inspect.getsource(module)
        for match in ROLE.finditer(source):
            kind, target = match.group(1), match.group(2).strip()
            full = target.startswith("pinnopt.")
            ok = _resolve(target) if full else _resolves_in(module, source, kind, target)
            if not ok and full and kind == "attr":
                ok = _instance_attribute(target)
            if not ok:
                broken.append(f"{info.name}: :{kind}:`{target}`")
    assert not broken, "docstring references that resolve to nothing:\n" + "\n".join(broken)


@pytest.mark.slow  # about 10 s of CPU (imports matplotlib, renders every namespace)
def test_api_reference_builds_without_warnings(tmp_path) -> None:
    pytest.importorskip("pdoc")
    spec = importlib.util.spec_from_file_location("build_api", ROOT / "docs" / "build_api.py")
    assert spec is not None and spec.loader is not None
    build_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_api)
    warnings = build_api.build(tmp_path)
    assert not warnings, "pdoc warnings:\n" + "\n".join(warnings)
    index = tmp_path / "pinnopt.html"
    assert index.is_file()
    page = index.read_text()
    assert "Result" in page and "predict" in page
    for namespace in NAMESPACES:
        if namespace == "init":  # po.init is pinnopt.nn.init, documented under nn
            continue
        assert (tmp_path / "pinnopt" / f"{namespace}.html").is_file(), namespace
