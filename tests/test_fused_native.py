"""Native CPU kernels of the fused Taylor node (:mod:`pinnopt.nn.taylor.native`, ``fused_native``).

For tanh, sigmoid and sin networks on CPUs the fused node's activation step and its backward
run as compiled C loops. These tests check that

- the native path is taken when it may be (and not with ``PINNOPT_NATIVE=0``), and gives the
  PyTorch path's fields and parameter gradients to round-off, and autograd's (float64);
- in float32 its error against a float64 reference is of the PyTorch path's size;
- rows split over threads (the OpenMP branch) give bitwise the same results as one thread;
- without a working compiler the node falls back to PyTorch, warning once;
- sin rows with arguments beyond the kernels' range take libm's sin and cos; NaN propagates;
- compiled kernels are cached on disk (a second process compiles nothing), compile errors
  are not retried, and ``PINNOPT_NATIVE=0`` turns everything off.
"""

from __future__ import annotations

import copy
import ctypes
import functools
import inspect
import logging
import subprocess
from pathlib import Path

import pytest
import torch

from pinnopt.nn import PINN, MLPNet
from pinnopt.nn.taylor import TaylorEngine, fused, fused_native, native
from pinnopt.symbolic import AutogradEngine

from .test_fused_taylor import CASES, _loss, _model, _plan, _requests, _through_fused_node

NATIVE_CASES = [case for case in CASES if case[0] in ("tanh", "sigmoid", "sin")]
"""The cases whose activation has native kernels (orders 1 to 4, mixed partials, first-order
channels of some axes only)."""

needs_compiler = pytest.mark.skipif(
    native.compiler() is None, reason="no C compiler found: the native kernels cannot be built here"
)

WARNING = "native Taylor kernel"  # both messages: unavailable, did not compile
LOGGER = "pinnopt.nn.taylor.native"


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of the native steps (``fused_native.activate``/``backward``) and of the PyTorch
    steps (``fused._activate``/``_activation_backward``) taken by the fused node."""
    counts = {"activate": 0, "backward": 0, "_activate": 0, "_activation_backward": 0}
    for module, names in (
        (fused_native, ("activate", "backward")),
        (fused, ("_activate", "_activation_backward")),
    ):
        for name in names:
            original = getattr(module, name)

            @functools.wraps(original)
            def counted(*args, _f=original, _name=name, **kw):  # type: ignore[no-untyped-def]
                counts[_name] += 1
                return _f(*args, **kw)

            monkeypatch.setattr(module, name, counted)
    return counts


def _reset(counts: dict[str, int]) -> None:
    for key in counts:
        counts[key] = 0


def _native_only(counts: dict[str, int]) -> bool:
    """Every activation step (forward and backward) of the node went through native kernels."""
    return (
        counts["activate"] > 0
        and counts["backward"] == counts["activate"]
        and counts["_activate"] == counts["_activation_backward"] == 0
    )


def _torch_only(counts: dict[str, int]) -> bool:
    """Every activation step of the node went through the PyTorch operations."""
    return (
        counts["_activate"] > 0
        and counts["_activation_backward"] == counts["_activate"]
        and counts["activate"] == counts["backward"] == 0
    )


def _weights(req: dict, dtype: torch.dtype) -> dict:
    g = torch.Generator().manual_seed(11)
    return {
        (k, f): torch.randn(len(x), generator=g, dtype=torch.float64).to(dtype)
        for k, (x, plan) in req.items()
        for f in plan.wanted
    }


def _fused(model: PINN, req: dict, weights: dict) -> tuple[dict, tuple[torch.Tensor, ...]]:
    """The fused engine's fields and the parameter gradients of a weighted sum of them."""
    fields = TaylorEngine().evaluate_sets(model, req, list(model.unknowns))
    for key in weights:
        assert _through_fused_node(fields[key[0]][key[1]]), key
    return fields, torch.autograd.grad(_loss(fields, weights), list(model.parameters()))


def _autograd(model: PINN, req: dict, weights: dict) -> tuple[dict, tuple[torch.Tensor, ...]]:
    unknowns = list(model.unknowns)
    fields = {k: AutogradEngine().evaluate(model, x, plan, unknowns) for k, (x, plan) in req.items()}
    return fields, torch.autograd.grad(_loss(fields, weights), list(model.parameters()))


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest difference relative to ``b``'s largest magnitude."""
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-300)


def _assert_close(got: tuple, want: tuple, weights: dict, rtol: float, what: str) -> None:
    (fields, grads), (ref_fields, ref_grads) = got, want
    for k, f in weights:
        assert ref_fields[k][f].abs().max().item() > 1e-8, (k, f)
        assert _rel(fields[k][f], ref_fields[k][f]) <= rtol, (
            what,
            k,
            f,
            _rel(fields[k][f], ref_fields[k][f]),
        )
    for i, (a, b) in enumerate(zip(grads, ref_grads, strict=True)):
        assert _rel(a, b) <= rtol, (what, "parameter", i, _rel(a, b))


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Native kernels on, an empty kernel cache under ``tmp_path`` and nothing remembered; on
    teardown the environment is restored first, then the caches forgotten again (the next
    test finds the real compiler and cache)."""
    monkeypatch.setenv("PINNOPT_NATIVE", "1")
    monkeypatch.setenv("PINNOPT_CACHE", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    native.reset()
    yield tmp_path
    monkeypatch.undo()
    native.reset()


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command lines of the compiler runs (``subprocess.run`` calls with ``-shared``) made by
    :mod:`pinnopt.nn.taylor.native`."""
    runs: list[list[str]] = []
    original = subprocess.run

    def spy(cmd, *args, **kw):  # type: ignore[no-untyped-def]
        if "-shared" in list(cmd):
            runs.append(list(cmd))
        return original(cmd, *args, **kw)

    monkeypatch.setattr(native.subprocess, "run", spy)
    return runs


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING and WARNING in r.message
    ]


# -- float64: the same function as the PyTorch path and autograd ---------------------------------


@needs_compiler
@pytest.mark.parametrize("depth", [3, 1])
@pytest.mark.parametrize(("activation", "dim", "wanted"), NATIVE_CASES)
def test_native_kernels_match_the_pytorch_path_and_autograd(
    activation: str, dim: int, wanted: list, depth: int, calls: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """float64, tanh, sigmoid and sin, orders 1 to 4, sets with derivatives and value-only sets
    (depth 1: the first layer's kernels, with constant and zero channels, alone): with native
    kernels every activation step is native, and the fields and parameter gradients equal the
    PyTorch path's (``PINNOPT_NATIVE=0``, which takes no native step) to 1e-13 and nested
    autograd's to 1e-12, relative to each field's (gradient's) largest magnitude."""
    model = _model(dim, activation, depth=depth)
    req = _requests(dim, list(model.unknowns), wanted)
    weights = _weights(req, torch.float64)

    monkeypatch.setenv("PINNOPT_NATIVE", "1")
    on = _fused(model, req, weights)
    assert _native_only(calls), calls
    assert calls["activate"] % depth == 0, calls  # every layer of every fused call

    _reset(calls)
    monkeypatch.setenv("PINNOPT_NATIVE", "0")
    off = _fused(model, req, weights)
    assert _torch_only(calls), calls

    _assert_close(on, off, weights, 1e-13, "native vs PyTorch")
    ref = _autograd(model, req, weights)
    _assert_close(on, ref, weights, 1e-12, "native vs autograd")


@needs_compiler
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "sin"])
def test_native_kernels_without_biases_match_the_pytorch_path_and_autograd(
    activation: str, calls: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layers without a bias (the first and third: the kernels add none, and their bias
    gradient is not written) next to layers with one: native fields and gradients equal the
    PyTorch path's to 1e-13 and autograd's to 1e-12."""
    model = _model(2, activation)
    for layer in model.net.linears[::2]:
        layer.bias = None
    req = _requests(2, list(model.unknowns), [(2, 0), (1, 1), (0, 1)])
    weights = _weights(req, torch.float64)
    monkeypatch.setenv("PINNOPT_NATIVE", "1")
    on = _fused(model, req, weights)
    assert _native_only(calls), calls
    monkeypatch.setenv("PINNOPT_NATIVE", "0")
    _assert_close(on, _fused(model, req, weights), weights, 1e-13, "native vs PyTorch")
    _assert_close(on, _autograd(model, req, weights), weights, 1e-12, "native vs autograd")


@needs_compiler
def test_sin_rows_beyond_the_fast_range_take_libm_and_match(
    calls: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sin layer whose row holds arguments beyond ``SIN_LIMIT`` (a bias of 3e5) takes libm's
    sin and cos for that row: float64 fields and gradients equal the PyTorch path's to the
    conditioning of such arguments (their rounding, 3e5 x eps, times 100). (In float32 an
    argument of 3e5 is known to 0.03: no two computations of it need agree.)"""
    dtype = torch.float64
    from pinnopt.nn.taylor.native_source import SIN_LIMIT

    model = _model(2, "sin").to(dtype)
    with torch.no_grad():
        model.net.linears[1].bias[2] = 3 * SIN_LIMIT
    req = {k: (x.to(dtype), p) for k, (x, p) in _requests(2, list(model.unknowns), [(2, 0), (0, 1)]).items()}
    weights = _weights(req, dtype)
    monkeypatch.setenv("PINNOPT_NATIVE", "1")
    on = _fused(model, req, weights)
    assert _native_only(calls), calls
    monkeypatch.setenv("PINNOPT_NATIVE", "0")
    tol = 3 * SIN_LIMIT * torch.finfo(dtype).eps * 100
    _assert_close(on, _fused(model, req, weights), weights, tol, "native (libm rows) vs PyTorch")


@needs_compiler
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "sin"])
def test_a_nan_point_gives_nan_fields_at_that_point_only(
    activation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN coordinate propagates through the kernels' own exp and sin/cos: that point's
    fields are NaN, every other point's equal the PyTorch path's to 1e-13."""
    model = _model(2, activation)
    x = torch.rand(9, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x[4, 1] = float("nan")
    req = {"a": (x, _plan(list(model.unknowns), [(2, 0), (1, 1), (0, 1)]))}
    monkeypatch.setenv("PINNOPT_NATIVE", "1")
    on = TaylorEngine().evaluate_sets(model, req, list(model.unknowns))["a"]
    monkeypatch.setenv("PINNOPT_NATIVE", "0")
    off = TaylorEngine().evaluate_sets(model, req, list(model.unknowns))["a"]
    rows = torch.arange(9) != 4
    for f, v in on.items():
        assert torch.isnan(v[4]).all(), f
        ref = off[f][rows]
        assert (v[rows] - ref).abs().max().item() <= 1e-13 * ref.abs().max().item(), f


@needs_compiler
def test_parameters_the_kernels_cannot_read_take_the_pytorch_path(calls: dict) -> None:
    """A bias that is a strided view (legal for ``nn.Linear``) is not handed to C: the node
    takes the PyTorch operations and matches autograd; a float32 bias in a float64 network is
    refused by PyTorch's own dtype error, as without native kernels."""
    model = _model(2, "tanh")
    lin = model.net.linears[1]
    lin.bias = torch.nn.Parameter(torch.randn(lin.out_features, 3, dtype=torch.float64)[:, 0])
    assert not lin.bias.is_contiguous()
    req = _requests(2, list(model.unknowns), [(2, 0), (0, 1)])
    weights = _weights(req, torch.float64)
    got = _fused(model, req, weights)
    assert calls["activate"] == 0 and calls["_activate"] > 0, calls
    _assert_close(got, _autograd(model, req, weights), weights, 1e-12, "strided bias vs autograd")
    lin.bias = torch.nn.Parameter(torch.zeros(lin.out_features, dtype=torch.float32))
    with pytest.raises(RuntimeError, match="dtype"):
        TaylorEngine().evaluate_sets(model, req, list(model.unknowns))


# -- float32 --------------------------------------------------------------------------------------


@needs_compiler
@pytest.mark.parametrize(("activation", "dim", "wanted"), NATIVE_CASES)
def test_float32_native_kernels_are_as_accurate_as_the_pytorch_path(
    activation: str, dim: int, wanted: list, calls: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """float32 (orders up to 4): the native fields and parameter gradients are no further from
    the float64 reference (autograd on the same float32-representable network and points)
    than 4x the PyTorch path's float32 error plus 1e-6 of the reference's magnitude."""
    model32 = _model(dim, activation).float()
    model64 = copy.deepcopy(model32).double()
    req64 = _requests(dim, list(model64.unknowns), wanted)
    req32 = {k: (x.float(), plan) for k, (x, plan) in req64.items()}
    req64 = {k: (x.double(), plan) for k, (x, plan) in req32.items()}  # the same points exactly
    weights32 = _weights(req32, torch.float32)
    weights64 = {key: w.double() for key, w in weights32.items()}

    ref_fields, ref_grads = _autograd(model64, req64, weights64)
    monkeypatch.setenv("PINNOPT_NATIVE", "1")
    nat_fields, nat_grads = _fused(model32, req32, weights32)
    assert _native_only(calls), calls
    _reset(calls)
    monkeypatch.setenv("PINNOPT_NATIVE", "0")
    pt_fields, pt_grads = _fused(model32, req32, weights32)
    assert _torch_only(calls), calls

    def err(a: torch.Tensor, ref: torch.Tensor) -> float:
        assert a.dtype == torch.float32
        return (a.double() - ref).abs().max().item()

    for k, f in weights32:
        ref = ref_fields[k][f]
        bound = 4 * err(pt_fields[k][f], ref) + 1e-6 * ref.abs().max().item()
        assert err(nat_fields[k][f], ref) <= bound, (k, f, err(nat_fields[k][f], ref), bound)
    for i, (a, b, ref) in enumerate(zip(nat_grads, pt_grads, ref_grads, strict=True)):
        bound = 4 * err(b, ref) + 1e-6 * ref.abs().max().item()
        assert err(a, ref) <= bound, ("parameter", i, err(a, ref), bound)


# -- threads --------------------------------------------------------------------------------------


@needs_compiler
def test_rows_split_over_threads_give_bitwise_the_same_results(
    calls: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer large enough for the kernels' OpenMP branch (width 32, 3000 points: 96000
    elements >= 32768), compiled with OpenMP: on two threads the fields and every native step's
    output (activation buffers, pre-activation gradients) equal one thread's bitwise; the
    parameter gradients (whose long reductions torch may split) to 1e-13; and the native
    fields equal the PyTorch path's to 1e-13."""
    monkeypatch.setenv("PINNOPT_NATIVE", "1")
    net = MLPNet(2, 1, 32, 2, "tanh", [-1.0, -1.0], [2.0, 2.0]).double()
    model = PINN(net, ["u0"])
    x = torch.rand(3000, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 3 - 1
    req = {"a": (x, _plan(["u0"], [(2, 0), (1, 1), (0, 1)]))}
    weights = _weights(req, torch.float64)

    outputs: list[torch.Tensor] = []  # what each native step wrote, in call order

    def recording(name: str, written: str) -> None:
        counted = getattr(fused_native, name)  # the counting wrapper of ``calls``
        signature = inspect.signature(getattr(fused_native, name).__wrapped__)

        def step(*args, **kw):  # type: ignore[no-untyped-def]
            counted(*args, **kw)
            outputs.append(signature.bind(*args, **kw).arguments[written].clone())

        monkeypatch.setattr(fused_native, name, step)

    recording("activate", "buf")  # the layer's buffer (values and derivative channels)
    recording("backward", "g")  # the pre-activations' gradient
    loaded: list = []
    load = native.load

    def spy_load(source: str):  # type: ignore[no-untyped-def]
        lib = load(source)
        loaded.append(lib)
        return lib

    monkeypatch.setattr(native, "load", spy_load)
    fused_native._compiled.cache_clear()  # the kernels are looked up again (from the disk cache)

    original = torch.get_num_threads()
    runs = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            outputs.clear()
            runs.append((*_fused(model, req, weights), list(outputs)))
    finally:
        torch.set_num_threads(original)
    assert _native_only(calls), calls
    assert loaded and all(lib is not None for lib in loaded)
    for lib in loaded:
        binary = Path(lib._name).read_bytes()
        if b"GOMP_parallel" not in binary and b"__kmpc_fork_call" not in binary:
            pytest.skip(f"the kernels were built without OpenMP ({native.compiler()} refused -fopenmp)")

    (f1, g1, o1), (f2, g2, o2) = runs
    assert len(o1) == len(o2) == calls["activate"] > 0  # per run: one output per step
    for k, f in weights:
        assert torch.equal(f1[k][f], f2[k][f]), f
    for i, (a, b) in enumerate(zip(o1, o2, strict=True)):
        assert torch.equal(a, b), ("native step", i)
    for a, b in zip(g1, g2, strict=True):
        assert _rel(a, b) <= 1e-13

    monkeypatch.setenv("PINNOPT_NATIVE", "0")
    off = _fused(model, req, weights)
    _assert_close((f1, g1), off, weights, 1e-13, "native vs PyTorch (threads)")


# -- fallback, cache, switch, compile errors -----------------------------------------------------


@pytest.mark.usefixtures("isolated")
def test_a_missing_compiler_falls_back_to_pytorch_and_warns_once(
    calls: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``CC`` naming no program: evaluation still works through the PyTorch operations (no
    native step) and gives autograd's fields and gradients; ``native_status()`` reports the
    failure; it is logged once (one condition for every kernel), not again on a second evaluation."""
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    native.reset()
    model = _model(2, "tanh")
    req = _requests(2, list(model.unknowns), [(2, 0), (1, 1), (0, 1)])
    weights = _weights(req, torch.float64)
    ref = _autograd(model, req, weights)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        first = _fused(model, req, weights)
        assert _torch_only(calls), calls
        logged = len(_warnings(caplog))
        assert logged == 1
        second = _fused(model, req, weights)
    assert len(_warnings(caplog)) == logged  # no warning repeated
    assert calls["activate"] == 0
    assert "no-such-compiler" in _warnings(caplog)[0].message
    for got in (first, second):
        _assert_close(got, ref, weights, 1e-12, "fallback vs autograd")
    status = native.native_status()
    assert status.startswith("off") and "no-such-compiler" in status, status
    assert not list(tmp_path.glob("native/*.so"))


@pytest.mark.usefixtures("isolated")
def test_no_compiler_on_the_path_is_reported_off_and_falls_back(
    calls: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No ``CC`` and no compiler on the ``PATH``: ``native_status()`` says off (no C compiler
    found), and evaluation goes through the PyTorch operations with autograd's fields and
    gradients, the warning saying how to silence it."""
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder
    native.reset()
    assert native.compiler() is None
    assert native.native_status() == "off (no C compiler found)"
    model = _model(2, "sigmoid")
    req = _requests(2, list(model.unknowns), [(1, 1), (0, 2)])
    weights = _weights(req, torch.float64)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        got = _fused(model, req, weights)
    assert _torch_only(calls), calls
    assert _warnings(caplog) and all("PINNOPT_NATIVE=0" in r.message for r in _warnings(caplog))
    _assert_close(got, _autograd(model, req, weights), weights, 1e-12, "no compiler vs autograd")


@pytest.mark.usefixtures("isolated")
def test_a_missing_compiler_is_reported_by_one_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing compiler is one condition: it should be logged once per process, not once per
    kernel variant (the module docstring: "compilation fails (logged once)")."""
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    native.reset()
    model = _model(2, "tanh")
    req = _requests(2, list(model.unknowns), [(2, 0), (1, 1), (0, 1)])
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(2):
            TaylorEngine().evaluate_sets(model, req, list(model.unknowns))
    assert len(_warnings(caplog)) == 1


@needs_compiler
def test_compiled_kernels_are_cached_on_disk(
    isolated: Path, calls: dict, compiles: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an empty ``PINNOPT_CACHE`` the first evaluation compiles its kernels into
    ``$PINNOPT_CACHE/native/taylor_<digest>.so`` (nothing else left there); after forgetting
    everything in memory (as a new process would) a second evaluation compiles nothing, runs
    native and gives bitwise the same fields and gradients."""
    model = _model(2, "sigmoid")
    req = _requests(2, list(model.unknowns), [(2, 0), (0, 1)])
    weights = _weights(req, torch.float64)
    first = _fused(model, req, weights)
    assert _native_only(calls), calls
    assert compiles, "nothing was compiled into the empty cache"
    files = sorted((isolated / "native").iterdir())
    libs = [p for p in files if p.suffix == ".so"]
    assert libs and all(p.name.startswith("taylor_") for p in libs), files
    assert sorted(files) == sorted([*libs, *(p.with_suffix(".sha256") for p in libs)]), files
    assert len(libs) == len(native._LIBS)

    native.reset()
    compiles.clear()
    _reset(calls)
    second = _fused(model, req, weights)
    assert compiles == []
    assert _native_only(calls), calls
    assert sorted((isolated / "native").iterdir()) == files
    for k, f in weights:
        assert torch.equal(first[0][k][f], second[0][k][f]), f
    for a, b in zip(first[1], second[1], strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("value", ["0", "off", "false"])
def test_native_kernels_can_be_turned_off(
    value: str, monkeypatch: pytest.MonkeyPatch, compiles: list, tmp_path: Path
) -> None:
    """``PINNOPT_NATIVE=0`` (or off, false): the status says off and ``load`` returns None
    without running the compiler."""
    monkeypatch.setenv("PINNOPT_CACHE", str(tmp_path))
    monkeypatch.setenv("PINNOPT_NATIVE", value)
    assert not native.native_enabled()
    assert native.native_status().startswith("off"), native.native_status()
    assert "PINNOPT_NATIVE=0" in native.native_status()
    assert native.load("int x;") is None
    assert compiles == []
    assert not (tmp_path / "native").exists()


@needs_compiler
def test_a_compile_error_turns_native_kernels_off_with_one_warning(
    isolated: Path, compiles: list, caplog: pytest.LogCaptureFixture
) -> None:
    """Source the compiler rejects (the generated kernels always compile, so a failure means
    a broken compiler): ``load`` returns None, logs one warning naming the compiler's failure,
    ``native_status()`` says off with the reason, nothing is left in the cache, and no later
    ``load`` runs the compiler again until :func:`native.reset`."""
    bad = "this is not C"
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert native.load(bad) is None
        assert compiles, "the compiler was not run"
        (record,) = _warnings(caplog)
        assert f"{native.compiler()} failed" in record.message, record.message
        compiles.clear()
        assert native.load(bad) is None
        assert native.load("int pinnopt_test_y;") is None
    assert compiles == []
    assert len(_warnings(caplog)) == 1
    status = native.native_status()
    assert status.startswith("off (") and "failed" in status, status
    assert list((isolated / "native").iterdir()) == []  # no library, no temporary folder left
    native.reset()
    assert native.load("int pinnopt_test_x;") is not None


@needs_compiler
def test_a_damaged_cached_library_is_rebuilt_not_loaded(isolated: Path, compiles: list) -> None:
    """A cached library that no longer matches its recorded hash (truncated, copied over) is
    compiled again instead of being loaded (loading a truncated shared object can crash)."""
    assert native.load("int pinnopt_test_z = 7;") is not None
    (lib,) = (isolated / "native").glob("*.so")
    data = lib.read_bytes()
    lib.unlink()  # a new file: the library this process has mapped stays as it is
    lib.write_bytes(data[:100])
    native.reset()
    compiles.clear()
    got = native.load("int pinnopt_test_z = 7;")
    assert got is not None and compiles, "the damaged library was not rebuilt"
    assert ctypes.c_int.in_dll(got, "pinnopt_test_z").value == 7


def test_the_cache_key_names_the_target_the_compiler_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    """``-march=native`` code is keyed by what the compiler resolves for this CPU (its
    predefined macros), so two CPUs sharing a cache folder get different files."""
    if native.compiler() is None:
        pytest.skip("no C compiler")
    native.reset()
    key = native._machine_key()
    assert "#define" in key and native.compiler() in key
