"""Property-based tests: whatever a user declares, reads or configures, pinnopt either accepts
it or refuses it with a :class:`~pinnopt.errors.PinnoptError`, never another exception.

Profiles (tests/conftest.py): 100 examples per property, derandomized; ``PINNOPT_HYPOTHESIS=long``
runs 500 fresh ones.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
import torch

import pinnopt as po
from pinnopt.errors import PinnoptError

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import event, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

X, Y, T = sp.symbols("x y t")
A, K = sp.symbols("a k")
TYPOS = ["U", "w", "phi", "x", "t", "sin", "k", "u_1", "f", "exp"]


def _pick(draw: st.DrawFn, good: list[Any], bad: list[Any], odds: int = 8) -> Any:
    """One of ``good``, or about once in ``odds`` draws one of ``bad``."""
    if bad and draw(st.integers(0, odds - 1)) == odds // 2:  # not an end: hypothesis favours those
        return draw(st.sampled_from(bad))
    return draw(st.sampled_from(good))


# -- problem declarations ----------------------------------------------------------------------
@st.composite
def _applied(draw: st.DrawFn, names: list[str], coords: tuple[sp.Symbol, ...]) -> sp.Expr:
    name = _pick(draw, names, TYPOS, odds=12)
    kind = _pick(draw, ["all"], ["subset", "permuted", "extra", "number", "repeat"], odds=5)
    if kind == "subset":
        args = draw(st.lists(st.sampled_from(coords), min_size=1, max_size=len(coords), unique=True))
    elif kind == "permuted":
        args = draw(st.permutations(coords))
    elif kind == "extra":
        args = [*coords, A]
    elif kind == "number":
        args = [*coords[:-1], sp.Integer(0)]
    elif kind == "repeat":
        args = [coords[0], coords[0]]
    else:
        args = list(coords)
    return sp.Function(name)(*args)


@st.composite
def _expression(draw: st.DrawFn, names: list[str], coords: tuple[sp.Symbol, ...]) -> sp.Expr:
    expr: sp.Expr = sp.Integer(0)
    for _ in range(draw(st.integers(1, 3))):
        f = draw(_applied(names, coords))
        order = draw(st.integers(0, 3))
        var = _pick(draw, list(coords), [A, sp.Symbol("b")], odds=12)
        term = sp.Derivative(f, (var, order)) if order else f
        coef = _pick(draw, [sp.Integer(1), sp.Integer(-2), sp.sin(coords[0]), K, A], [sp.Symbol("b")])
        expr = expr + coef * term
    if draw(st.booleans()):
        expr = sp.Eq(expr, draw(st.sampled_from([sp.Integer(1), sp.cos(coords[-1]), K])))
    return expr


@st.composite
def _where(draw: st.DrawFn, coords: tuple[sp.Symbol, ...], lo: list[float], hi: list[float]) -> Any:
    """A region spec, or a thunk building one (pinnopt objects are built inside the test)."""
    j = draw(st.integers(0, len(coords) - 1))
    kind = _pick(draw, ["eq", "eq", "side", "name", "points", "boundary"], ["interior", "bad"])
    if kind == "eq":
        value = _pick(draw, [lo[j], hi[j]], [(lo[j] + hi[j]) / 2, hi[j] + 1])
        return sp.Eq(coords[j], value)
    if kind == "side":
        c, end = _pick(draw, list(coords), [A]), _pick(draw, ["lower", "upper"], ["mid"])
        return lambda: po.Side(c, end)
    if kind == "name":
        return _pick(draw, [f"{coords[j]}={lo[j]:g}", f"{coords[j]}={hi[j]:g}"], [f"{coords[j]}=7", "circle"])
    if kind == "points":
        cols = _pick(draw, [len(coords)], [len(coords) + 1])
        rows = draw(st.integers(1, 3))
        inside = st.floats(min(lo), max(hi)) if draw(st.integers(0, 3)) else st.floats(-4, 4)
        vals = draw(st.lists(inside, min_size=rows * cols, max_size=rows * cols))
        return lambda: po.Points(torch.tensor(vals, dtype=torch.float64).reshape(rows, cols))
    if kind == "bad":
        return draw(st.sampled_from([3, None, sp.Eq(A, 0), [sp.Eq(coords[j], lo[j])]]))
    return kind


_JUNK = [
    "weight", "n", "Dirichlet", "Neumann", "Initial", "points", "bound", "parameters", "constants",
    "eval_grid", "name", "exact", "energy", "bounds", "data",
]  # fmt: skip
_JUNK_VALUES = [
    "a", None, -1, math.nan, 2.5, [[0.5], [0.1, 0.2]], [1j], {"a": 1}, "fine", 3, [[math.nan]], (), [3],
]  # fmt: skip


def _build(spec: Any) -> Any:
    return spec() if callable(spec) and not isinstance(spec, sp.Basic) else spec


@st.composite
def declarations(draw: st.DrawFn) -> Any:
    """A thunk declaring a random problem: ``po.Problem(...)`` when called."""
    dim = draw(st.integers(1, 3))
    coords = (X, Y, T)[:dim]
    lo = [draw(st.sampled_from([-2.0, -1.0, 0.0])) for _ in coords]
    hi = [a + draw(st.sampled_from([0.5, 1.0, 3.0])) for a in lo]
    names = draw(st.lists(st.sampled_from(["u", "v"]), min_size=1, max_size=2, unique=True))
    equations = draw(st.lists(_expression(names, coords), min_size=_pick(draw, [1], [0]), max_size=2))
    items: list[tuple[str, Any, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.integers(0, 5)) == 0:
            items.append(("periodic", _pick(draw, list(coords), [A]), draw(_applied(names, coords))))
        else:
            items.append(("on", draw(_where(coords, lo, hi)), draw(_expression(names, coords))))
    extra: dict[str, Any] = {}
    extra["parameters"] = _pick(draw, [{K: 0.1}, {K: -3.0}], [{}, {A: 1.0}, {K: math.nan}], odds=16)
    extra["constants"] = _pick(draw, [{A: 2.0}], [{}, {K: 1.0}, {X: 1.0}], odds=16)
    if draw(st.integers(0, 4)) == 0:
        declared = _pick(draw, [names, names[::-1]], [[], [*names, "w"], ["U"]])
        extra["unknowns"] = [sp.Function(n)(*coords) for n in declared]

    junk = draw(st.sampled_from([None, None, None, *_JUNK]))
    value = draw(st.sampled_from(_JUNK_VALUES))
    u0 = sp.Function(names[0])(*coords)

    def declare() -> po.Problem:
        domain = po.Interval(X, lo[0], hi[0]) if dim == 1 else po.Box(coords, lo, hi)
        conditions = [
            po.Periodic(a, b) if kind == "periodic" else po.On(_build(a), b) for kind, a, b in items
        ]
        kw = dict(extra)
        side = sp.Eq(coords[0], lo[0])
        if junk == "weight":
            conditions.append(po.On(side, u0, weight=value))
        elif junk == "n":
            conditions.append(po.On(side, u0, n=value))
        elif junk in ("Dirichlet", "Neumann", "Initial"):
            helper = {"Dirichlet": po.Dirichlet, "Neumann": po.Neumann}.get(junk)
            conditions.append(helper(side, u0, value) if helper else po.Initial(coords[0], u0, value))
        elif junk == "points":
            conditions.append(po.AtPoints(value, u0))
        elif junk == "bound":
            kw["bounds"] = [po.Bound(u0 <= 1, where=po.Points([hi[0] + 1] * dim if dim > 1 else [hi[0] + 1]))]
        elif junk in ("parameters", "constants"):
            kw[junk] = {K if junk == "parameters" else A: value}
        elif junk in ("eval_grid", "name", "exact", "energy", "bounds", "data"):
            kw[junk] = value
        problem = po.Problem(domain, equations, conditions, **kw)
        problem.evaluation_points()
        return problem

    return declare


@given(declarations())
def test_any_problem_declaration_builds_or_is_refused_by_name(declare: Any) -> None:
    try:
        problem = declare()
    except PinnoptError as exc:
        event(f"refused: {type(exc).__name__}")
        assert str(exc)
        return
    event("accepted")
    assert problem.unknowns and len(problem.terms) >= 1


# -- CSV files -----------------------------------------------------------------------------------
_CELLS = ["0.5", "0.25", "1", "-0.1", "2", "nan", "inf", "1e400", "", " ", "abc", "0x1", "1,5", '"0.3"']


@st.composite
def _csv_text(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([["x", "u"], ["x", "u"], ["u", "x"], ["x", "u", "w"]]))
    names = st.sampled_from(["x", "u", "w", "\ufeffx", " x ", "", "t", "x", "v"])
    header = header if draw(st.integers(0, 3)) else draw(st.lists(names, min_size=1, max_size=4))
    lines = [",".join(header)]
    for _ in range(_pick(draw, [1, 2, 3, 4], [0])):
        width = _pick(draw, [len(header)], [len(header) + 1, 1])
        plain = draw(st.integers(0, 3)) > 0
        cell = st.sampled_from(["0.5", "0.25", "1", "0.9", "0.75"] if plain else _CELLS)
        lines.append(",".join(draw(cell) for _ in range(width)))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    text += draw(st.sampled_from(["", "\n", "\n\n"]))
    encoding = _pick(draw, ["utf-8", "utf-8-sig"], ["utf-16", "latin-1", "utf-32"])
    return text.encode(encoding, errors="replace")


@given(
    st.one_of(_csv_text(), _csv_text(), _csv_text(), st.binary(max_size=120)),
    st.sampled_from(["auto", "auto", "auto", None, "missing"]),
    st.sampled_from([{}, {}, {}, {"v": sp.Function("u")(X).diff(X)}, {"nope": sp.Integer(1)}]),
)
def test_any_csv_file_reads_or_is_refused_by_name(content: bytes, weights: str | None, observed: Any) -> None:
    u = sp.Function("u")(X)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "obs.csv"
        path.write_bytes(content)
        if weights == "auto":  # the weights column when there is one
            weights = "w" if b",w" in content else None
        try:
            obs = po.Observations.from_csv(path, weights=weights, observed=observed)
            problem = po.Problem(po.Interval(X, 0, 1), [u.diff(X, 2) + 1], data=[obs])
        except PinnoptError as exc:
            event(f"refused: {type(exc).__name__}")
            assert str(exc)
            return
    event("accepted")
    assert any(t.kind == "data" for t in problem.terms)


# -- solve configurations ----------------------------------------------------------------------------
def _problems() -> dict[str, po.Problem]:
    u = sp.Function("u")(X)
    line = po.Interval(X, 0, 1)
    return {
        "poisson": po.Problem(line, [u.diff(X, 2) + 1], [po.On(sp.Eq(X, 0), u), po.On(sp.Eq(X, 1), u)]),
        "inverse": po.Problem(
            line,
            [u.diff(X, 2) + K],
            [po.On(sp.Eq(X, 0), u)],
            parameters=[po.Parameter(K, init=0.1)],
            bounds=[K >= 0.05],
        ),
    }


_PROBLEMS = _problems()
_LRS = [1e-3, 1e-2, 0.0, -1.0, math.nan, math.inf, "0.1"]


class _Lazy:
    """A value built inside the test (building may itself raise the error under test)."""

    def __init__(self, build: Any) -> None:
        self.build = build


_FIELDS = [
    "phase", "lr", "steps", "history", "interior", "boundary", "sampler", "width", "depth", "activation",
    "dtype", "device", "seed", "log_every", "hard_constraints", "collocation", "callbacks", "strategies",
    "resume", "progress",
]  # fmt: skip


@st.composite
def _configs(draw: st.DrawFn) -> dict[str, Any]:
    """Solve options, all valid, or with one bad value (so that each bad value is reached)."""
    bad_field = draw(st.sampled_from([*([None] * len(_FIELDS)), *_FIELDS]))

    def pick(field: str, good: list[Any], bad: list[Any]) -> Any:
        return draw(st.sampled_from(bad if field == bad_field else good))

    phase = pick("phase", ["adam", "lbfgs", "sgd"], ["none", "str", "single"])
    lr = pick("lr", [1e-3, 1e-2], [0.0, -1.0, math.nan, math.inf, "0.1", None])
    steps = pick("steps", [1], [-1, 1.5, "1", None])
    history = pick("history", [5], [0, "a", 2.5])
    phases = {
        "adam": lambda: [po.optim.Adam(steps=steps, lr=lr)],
        "lbfgs": lambda: [po.optim.LBFGS(steps=steps, history_size=history)],
        "sgd": lambda: [po.optim.SGD(steps=steps, lr=lr)],
        "none": lambda: [],
        "str": lambda: ["adam"],
        "single": lambda: po.optim.Adam(steps=1),
    }[phase]
    interior = pick("interior", [8, 5], [0, -3, 2.5, "8"])
    boundary = pick("boundary", [2, 1], [0, -1, None])
    sampler = pick("sampler", ["uniform", "grid", "sobol", "halton", "latin"], ["bogus", 3])
    width = pick("width", [4, 3], [0, -1, 2.5])
    depth = pick("depth", [1, 2], [-1, "2"])
    activation = pick("activation", ["tanh", "sin", "relu", "gelu"], ["bogus", 3])
    kw: dict[str, Any] = {
        "problem": _PROBLEMS[draw(st.sampled_from(sorted(_PROBLEMS)))],
        "phases": _Lazy(phases),
        "collocation": _Lazy(lambda: po.Collocation(interior=interior, boundary=boundary, sampler=sampler)),
        "model": _Lazy(lambda: po.nn.MLP(width=width, depth=depth, activation=activation)),
        "dtype": pick("dtype", ["float64", "float32", torch.float64], ["float16", "double", 64, None]),
        "seed": pick("seed", [0, 1, 12345, -1], [2**63, 2**70, 1.5, "a", None, True]),
        "log_every": pick("log_every", [1, 100], [0, -2, 2.0, "a"]),
        "hard_constraints": pick("hard_constraints", [False, True], ["yes", None]),
    }
    device = pick("device", ["cpu", "cpu:0", torch.device("cpu")], ["cpu:1", "cuda", "tpu", "meta", 0])
    progress = pick("progress", [False], ["yes", 1])
    kw["runtime"] = _Lazy(lambda: po.Runtime(device=device, progress=progress))
    if bad_field == "collocation":
        kw["collocation"] = draw(st.sampled_from(["many", {"interior": 8}, 8]))
    if bad_field in ("callbacks", "strategies"):
        kw[bad_field] = draw(st.sampled_from([lambda tr, step: None, 3, "cb", [3]]))
    if bad_field == "resume":
        kw["resume"] = draw(st.sampled_from([3, "/nonexistent/checkpoint.pt"]))
    return kw


@given(_configs())
def test_any_solve_configuration_runs_or_is_refused_by_name(cfg: dict[str, Any]) -> None:
    torch.set_num_threads(1)
    try:
        kw = {k: v.build() if isinstance(v, _Lazy) else v for k, v in cfg.items()}
        result = po.solve(**kw)
    except PinnoptError as exc:
        event(f"refused: {type(exc).__name__}")
        assert str(exc)
        return
    event("accepted")
    assert result.steps <= 1 and result.stop_reason is not None
