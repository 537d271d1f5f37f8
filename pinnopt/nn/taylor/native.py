"""Native CPU kernels of the fused Taylor node: one pass per layer instead of one per operation.

The fused node's activation step (:func:`.fused._activate`) and its backward are sums of
elementwise products; in eager PyTorch each product is a pass over memory and a dispatch
(15 to 40 per layer). On CPUs, for the tanh and sigmoid kernels, this module writes them as
one C loop per layer, generated from the layout's :class:`~.fused_layout.Program`
(:mod:`.native_source`), compiled once with the system's C compiler and loaded with
:mod:`ctypes`. The activation's value itself stays with ``torch.sigmoid`` (vectorized).

The shared libraries are cached under ``$PINNOPT_CACHE`` (default ``~/.cache/pinnopt``), keyed
by the source, the compiler and this CPU's instruction-set flags (``-march=native``). Without a
C compiler, or with ``PINNOPT_NATIVE=0``, the node runs its PyTorch operations as before (the
same function to round-off); :func:`native_status` says which.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared", "-std=c99")
"""Compiler flags: no ``-ffast-math`` (IEEE arithmetic, contraction to FMA aside);
``-fno-trapping-math`` lets GCC vectorize the clamps of the kernels' ``exp``."""
OPENMP = "-fopenmp"
"""Added when the compiler takes it (the row loops run on torch's threads); else left out."""

_LOCK = threading.Lock()
_UNAVAILABLE: list[str] = []  # why no kernel can be built in this process (one warning)
_OPENMP: list[bool] = []  # whether the compiler took OPENMP (learned at the first build)


class _UnavailableError(RuntimeError):
    """No kernel can be built: no compiler, it fails, or the cache is not writable."""


def native_enabled() -> bool:
    """Whether native kernels may be used (``PINNOPT_NATIVE=0`` turns them off)."""
    return os.environ.get("PINNOPT_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


@functools.lru_cache(maxsize=1)
def compiler_command() -> tuple[str, ...] | None:
    """The C compiler's command: ``$CC`` (split like a shell, e.g. ``ccache gcc``; its program
    must be on the PATH), else ``cc``, ``gcc`` or ``clang``; None if none is found."""
    cc = os.environ.get("CC")
    if cc:
        words = shlex.split(cc)
        path = shutil.which(words[0]) if words else None
        return None if path is None else (path, *words[1:])
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return (path,)
    return None


def compiler() -> str | None:
    """The C compiler's program (see :func:`compiler_command`), or None."""
    cmd = compiler_command()
    return None if cmd is None else cmd[0]


@functools.lru_cache(maxsize=1)
def _machine_key() -> str:
    """What ``-march=native`` code depends on: the compiler's version and the target it resolves
    for this CPU (its predefined macros, which name every instruction-set extension), so that a
    cache shared by different machines never hands one another's code."""
    cmd = compiler_command() or ("",)
    parts = [" ".join(cmd), platform.machine()]
    for args in (["--version"], ["-march=native", "-dM", "-E", "-x", "c", os.devnull]):
        try:
            out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60)
            parts.append(out.stdout if out.returncode == 0 else "?")
        except (OSError, subprocess.SubprocessError):
            parts.append("?")
    if parts[-1] == "?":  # no macro list: the CPU's own description
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                keys = ("flags", "model name", "Features", "CPU part", "CPU implementer")
                parts += sorted({line for line in f if line.startswith(keys)})
        except OSError:
            parts.append(platform.processor())
    return "\n".join(parts)


def _no_compiler() -> str:
    named = os.environ.get("CC")
    return f"CC={named!r} is not a program on the PATH" if named else "no C compiler found"


def cache_dir() -> Path:
    """Where compiled kernels are kept (``$PINNOPT_CACHE``, default ``~/.cache/pinnopt``)."""
    root = os.environ.get("PINNOPT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "pinnopt"
    )
    return Path(root) / "native"


_LIBS: dict[str, ctypes.CDLL] = {}


def load(source: str) -> ctypes.CDLL | None:
    """The shared library compiled from C ``source`` (cached on disk and in memory), or None
    when native kernels are off or cannot be built here: no compiler, a failing one or an
    unwritable cache (one warning per process; :func:`native_status` says why)."""
    if not native_enabled():
        return None
    digest = hashlib.sha256(
        (source + "\0" + " ".join((*FLAGS, OPENMP)) + "\0" + _machine_key()).encode()
    ).hexdigest()[:24]
    lib = _LIBS.get(digest)
    if lib is not None or _UNAVAILABLE:
        return lib
    with _LOCK:
        if digest in _LIBS or _UNAVAILABLE:
            return _LIBS.get(digest)
        try:
            lib = _build(source, digest)
        except (_UnavailableError, OSError, subprocess.SubprocessError) as exc:
            _UNAVAILABLE.append(str(exc))
            log.warning(
                "pinnopt: native Taylor kernels unavailable (%s); using PyTorch operations "
                "(PINNOPT_NATIVE=0 silences this)",
                exc,
            )
            return None
        _LIBS[digest] = lib
        return lib


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build(source: str, digest: str) -> ctypes.CDLL:
    cmd = compiler_command()
    if cmd is None:
        raise _UnavailableError(_no_compiler())
    folder = cache_dir()
    target = folder / f"taylor_{digest}.so"
    check = target.with_suffix(".sha256")  # a truncated or foreign file is rebuilt, not loaded
    if not (target.exists() and check.exists() and check.read_text().strip() == _sha256(target)):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            src = Path(tmp) / "kernel.c"
            src.write_text(source, encoding="utf-8")
            out = Path(tmp) / "kernel.so"
            for extra in ([OPENMP], []) if not _OPENMP else ([OPENMP] if _OPENMP[0] else [],):
                proc = subprocess.run(
                    [*cmd, *FLAGS, *extra, "-o", str(out), str(src), "-lm"],
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                if proc.returncode == 0:
                    _OPENMP[:] = [bool(extra)]
                    break
            else:
                raise _UnavailableError(f"{cmd[0]} failed: {proc.stderr.strip()[:500]}")
            sums = Path(tmp) / "kernel.sha256"
            sums.write_text(_sha256(out))
            os.replace(out, target)  # atomic: concurrent builders write the same file
            os.replace(sums, check)
        log.info("pinnopt: compiled native Taylor kernels into %s", target)
    return ctypes.CDLL(str(target))


def native_status() -> str:
    """One line: whether native kernels can be used here (for tanh, sigmoid and sin layers of
    CPU float32/float64 networks; other layers take PyTorch operations), with the compiler and
    the cache folder, or why not."""
    if not native_enabled():
        return "off (PINNOPT_NATIVE=0)"
    if _UNAVAILABLE:
        return f"off ({_UNAVAILABLE[0]})"
    cmd = compiler_command()
    if cmd is None:
        return f"off ({_no_compiler()})"
    return f"on for tanh, sigmoid and sin layers on CPUs ({' '.join(cmd)}, cache {cache_dir()})"


def reset() -> None:
    """Forget the compiler, the loaded libraries and failed builds (after changing ``CC`` or
    ``PINNOPT_CACHE``); libraries already handed out stay valid."""
    with _LOCK:
        _LIBS.clear()
        _UNAVAILABLE.clear()
        _OPENMP.clear()
    compiler_command.cache_clear()
    _machine_key.cache_clear()
    for hook in RESET_HOOKS:
        hook()


RESET_HOOKS: list[Callable[[], None]] = []
"""Called by :func:`reset`: the caches of compiled kernels kept by the modules that use them."""
