"""The fused node's activation step through native kernels (:mod:`.native`), where they apply:
CPU tensors of float32 or float64, tanh, sigmoid or sin activations, and a C compiler at hand."""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from . import native
from .activations import SinRule
from .fused_kernels import Kernel, _RuleKernel, _TanhKernel
from .fused_layout import Program
from .native_source import source

log = logging.getLogger(__name__)

_CTYPES = {torch.float32: "float", torch.float64: "double"}


@dataclass(frozen=True)
class NativeLayer:
    """The compiled ``fwd`` and ``bwd`` of one program, activation, dtype and channel kinds."""

    fwd: Callable[..., None]
    bwd: Callable[..., None]


@functools.lru_cache(maxsize=128)
def _compiled(
    prog: Program, kinds: tuple[str, ...], ctype: str, act: str, inner: float, outer: float
) -> NativeLayer | None:
    lib = native.load(source(prog, kinds, ctype, act, inner, outer))
    if lib is None:
        return None
    ptr, size = ctypes.c_void_p, ctypes.c_ssize_t  # ptrdiff_t
    head = [ctypes.c_int, size, size, size, ptr, size]
    fwd, bwd = lib.fwd, lib.bwd
    fwd.argtypes = [*head, ptr, size, ptr] + [ptr, size] * prog.n_channels
    bwd.argtypes = [*head, ptr, size, ptr, ptr, size, ptr] + [ptr, size] * prog.n_channels
    fwd.restype = bwd.restype = None
    exported = (ctypes.c_int.in_dll(lib, "fwd_nargs").value, ctypes.c_int.in_dll(lib, "bwd_nargs").value)
    if exported != (len(fwd.argtypes), len(bwd.argtypes)):  # the prototypes drifted from the source
        log.error("pinnopt: native kernel arguments %s != its ctypes prototypes; not used", exported)
        return None
    return NativeLayer(fwd, bwd)


def params_fit(layers: Sequence[tuple[torch.Tensor, torch.Tensor | None]], like: torch.Tensor) -> bool:
    """Whether the kernels can read these parameters: ``like``'s dtype and device, biases
    contiguous (else the PyTorch operations apply, and refuse mixed dtypes themselves)."""
    for w, b in layers:
        if w.dtype != like.dtype or w.device != like.device:
            return False
        if b is not None and (b.dtype != like.dtype or b.device != like.device or not b.is_contiguous()):
            return False
    return True


def native_layers(
    prog: Program, kernel: Kernel, like: torch.Tensor
) -> tuple[NativeLayer, NativeLayer] | None:
    """The native kernels of the first activation (constant first-order channels, no higher
    ones) and of the others, or None: the PyTorch operations apply."""
    if not like.is_cpu or like.dtype not in _CTYPES:
        return None
    inner = outer = 1.0
    if isinstance(kernel, _TanhKernel) and kernel.inner == 1.0:
        act = "tanh"
    elif isinstance(kernel, _TanhKernel) and (kernel.inner, kernel.outer, kernel.shift) == (0.5, 0.5, 0.5):
        act, inner, outer = "sigmoid", 0.5, 0.5
    elif isinstance(kernel, _RuleKernel) and type(kernel.rule) is SinRule:
        act = "sin"
    else:
        return None
    if not native.native_enabled():
        return None
    c_all, ctype = prog.n_channels, _CTYPES[like.dtype]
    first_kinds = tuple("col" if c < prog.n_first else "zero" for c in range(c_all))
    first = _compiled(prog, first_kinds, ctype, act, inner, outer)
    rest = _compiled(prog, ("full",) * c_all, ctype, act, inner, outer)
    return None if first is None or rest is None else (first, rest)


def channel_args(zc: Sequence[torch.Tensor | None]) -> list[int]:
    """``(pointer, row stride)`` of each pre-activation channel (0, 0 for a zero channel)."""
    out: list[int] = []
    for z in zc:
        if z is None:
            out += [0, 0]
        else:
            assert z.shape[1] <= 1 or z.stride(1) == 1
            out += [z.data_ptr(), z.stride(0)]
    return out


def activate(
    layer: NativeLayer,
    z: torch.Tensor,
    bias: torch.Tensor | None,
    zc: Sequence[torch.Tensor | None],
    buf: torch.Tensor,
    n: int,
    nd: int,
) -> None:
    """Write into ``buf`` (``(w, n + C nd)``, contiguous) the activation of ``z[:, :n] + bias``
    (``z``: the products ``W a``, without the bias) and its derivative channels from ``zc``."""
    assert z.stride(1) == 1 and buf.is_contiguous()
    layer.fwd(
        torch.get_num_threads(),
        buf.shape[0],
        n,
        nd,
        buf.data_ptr(),
        buf.stride(0),
        z.data_ptr(),
        z.stride(0),
        None if bias is None else bias.data_ptr(),
        *channel_args(zc),
    )


def backward(
    layer: NativeLayer,
    a: torch.Tensor,
    z: torch.Tensor,
    bias: torch.Tensor | None,
    zc: Sequence[torch.Tensor | None],
    g: torch.Tensor,
    n: int,
    nd: int,
    bias_grad: torch.Tensor | None,
) -> None:
    """Turn ``g`` (the gradient of the buffer ``a``, same shape, contiguous) into the gradient
    of the pre-activations, in place (``z``, ``bias``, ``zc``: as given to :func:`activate`);
    ``bias_grad`` (``(w,)``): their sums over the values."""
    assert g.is_contiguous() and a.is_contiguous() and z.stride(1) == 1
    layer.bwd(
        torch.get_num_threads(),
        g.shape[0],
        n,
        nd,
        g.data_ptr(),
        g.stride(0),
        a.data_ptr(),
        a.stride(0),
        None if bias_grad is None else bias_grad.data_ptr(),
        z.data_ptr(),
        z.stride(0),
        None if bias is None else bias.data_ptr(),
        *channel_args(zc),
    )


native.RESET_HOOKS.append(_compiled.cache_clear)
