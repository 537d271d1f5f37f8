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
_FAILED: dict[str, str] = {}  # compile errors, by source digest
_UNAVAILABLE: list[str] = []  # why no kernel can be built in this process (one warning)


class _NoCompilerError(RuntimeError):
    """No kernel can be built: no compiler, or it cannot be run, or the cache is not writable."""


def native_enabled() -> bool:
    """Whether native kernels may be used (``PINNOPT_NATIVE=0`` turns them off)."""
    return os.environ.get("PINNOPT_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


@functools.lru_cache(maxsize=1)
def compiler() -> str | None:
    """The C compiler: ``$CC``, else ``cc``, ``gcc`` or ``clang`` on the PATH; None if none."""
    cc = os.environ.get("CC")
    if cc:
        return shutil.which(cc)
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


@functools.lru_cache(maxsize=1)
def _machine_key() -> str:
    """The compiler's version and this CPU's flags (``-march=native`` code is per machine)."""
    parts = [compiler() or ""]
    try:
        out = subprocess.run([parts[0], "--version"], capture_output=True, text=True, timeout=30)
        parts.append(out.stdout.splitlines()[0] if out.stdout else "")
    except (OSError, subprocess.SubprocessError):
        parts.append("?")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            parts += [line for line in f if line.startswith(("flags", "model name"))][:2]
    except OSError:
        import platform

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
    when native kernels are off, no compiler is found or compilation fails (logged once)."""
    if not native_enabled():
        return None
    digest = hashlib.sha256(
        (source + "\0" + " ".join((*FLAGS, OPENMP)) + "\0" + _machine_key()).encode()
    ).hexdigest()[:24]
    lib = _LIBS.get(digest)
    if lib is not None or digest in _FAILED or _UNAVAILABLE:
        return lib
    with _LOCK:
        if digest in _LIBS or digest in _FAILED or _UNAVAILABLE:
            return _LIBS.get(digest)
        try:
            lib = _build(source, digest)
        except (_NoCompilerError, OSError, subprocess.SubprocessError) as exc:
            _UNAVAILABLE.append(str(exc))
            log.warning(
                "pinnopt: native Taylor kernels unavailable (%s); using PyTorch operations "
                "(PINNOPT_NATIVE=0 silences this)",
                exc,
            )
            return None
        except RuntimeError as exc:  # this source did not compile
            _FAILED[digest] = str(exc)
            log.warning("pinnopt: a native Taylor kernel did not compile (%s); using PyTorch operations", exc)
            return None
        _LIBS[digest] = lib
        return lib


def _build(source: str, digest: str) -> ctypes.CDLL:
    cc = compiler()
    if cc is None:
        raise _NoCompilerError(_no_compiler())
    folder = cache_dir()
    target = folder / f"taylor_{digest}.so"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            src = Path(tmp) / "kernel.c"
            src.write_text(source, encoding="utf-8")
            out = Path(tmp) / "kernel.so"
            for extra in ([OPENMP], []):
                cmd = [cc, *FLAGS, *extra, "-o", str(out), str(src), "-lm"]
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                if proc.returncode == 0:
                    break
            else:
                raise RuntimeError(f"{cc} failed: {proc.stderr.strip()[:500]}")
            os.replace(out, target)  # atomic: concurrent builders write the same file
        log.info("pinnopt: compiled native Taylor kernels into %s", target)
    return ctypes.CDLL(str(target))


def native_status() -> str:
    """One line: whether native kernels are on, the compiler and the cache folder."""
    if not native_enabled():
        return "off (PINNOPT_NATIVE=0)"
    if _UNAVAILABLE:
        return f"off ({_UNAVAILABLE[0]})"
    cc = compiler()
    if cc is None:
        return f"off ({_no_compiler()})"
    failed = f"; {len(_FAILED)} build(s) failed: {next(iter(_FAILED.values()))}" if _FAILED else ""
    return f"on ({cc}, cache {cache_dir()}){failed}"


def reset() -> None:
    """Forget the compiler, the loaded libraries and failed builds (after changing ``CC`` or
    ``PINNOPT_CACHE``); libraries already handed out stay valid."""
    with _LOCK:
        _LIBS.clear()
        _FAILED.clear()
        _UNAVAILABLE.clear()
    compiler.cache_clear()
    _machine_key.cache_clear()
    for hook in RESET_HOOKS:
        hook()


RESET_HOOKS: list[Callable[[], None]] = []
"""Called by :func:`reset`: the caches of compiled kernels kept by the modules that use them."""
