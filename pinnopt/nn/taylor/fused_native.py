"""The fused node's activation step through native kernels (:mod:`.native`), where they apply:
CPU tensors of float32 or float64, the tanh and sigmoid kernels, and a C compiler at hand."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from . import native
from .fused_kernels import Kernel, _TanhKernel
from .fused_layout import Program
from .native_source import source

_CTYPES = {torch.float32: "float", torch.float64: "double"}


@dataclass(frozen=True)
class NativeLayer:
    """The compiled ``fwd`` and ``bwd`` of one program, activation, dtype and channel kinds."""

    fwd: Callable[..., None]
    bwd: Callable[..., None]


@functools.lru_cache(maxsize=128)
def _compiled(
    prog: Program, kinds: tuple[str, ...], ctype: str, tanh: bool, inner: float, outer: float
) -> NativeLayer | None:
    lib = native.load(source(prog, kinds, ctype, tanh, inner, outer))
    if lib is None:
        return None
    zt = [ctypes.c_void_p, ctypes.c_long] * prog.n_channels
    fwd, bwd = lib.fwd, lib.bwd
    head = [ctypes.c_int] + [ctypes.c_long] * 3
    fwd.argtypes = [*head, ctypes.c_void_p, ctypes.c_long, *zt]
    bwd.argtypes = head + [ctypes.c_void_p, ctypes.c_long] * 2 + zt
    fwd.restype = bwd.restype = None
    return NativeLayer(fwd, bwd)


def native_layer(
    prog: Program, kernel: Kernel, like: torch.Tensor, zc: Sequence[torch.Tensor | None], stacked: bool
) -> NativeLayer | None:
    """The native kernels for an activation step, or None (the PyTorch operations apply)."""
    if not isinstance(kernel, _TanhKernel) or not like.is_cpu or like.dtype not in _CTYPES:
        return None
    if kernel.inner == 1.0:
        tanh = True
    elif (kernel.inner, kernel.outer, kernel.shift) == (0.5, 0.5, 0.5):
        tanh = False
    else:
        return None
    if not native.native_enabled():
        return None
    kinds = []
    for z in zc:
        if z is None:
            kinds.append("zero")
        elif not stacked and z.shape[1] == 1:
            kinds.append("col")
        elif z.stride(1) == 1 or z.shape[1] <= 1:
            kinds.append("full")
        else:
            return None
    return _compiled(prog, tuple(kinds), _CTYPES[like.dtype], tanh, kernel.inner, kernel.outer)


def channel_args(zc: Sequence[torch.Tensor | None]) -> list[int]:
    """``(pointer, row stride)`` of each pre-activation channel (0, 0 for a zero channel)."""
    out: list[int] = []
    for z in zc:
        if z is None:
            out += [0, 0]
        else:
            out += [z.data_ptr(), z.stride(0)]
    return out


def activate(
    layer: NativeLayer, z: torch.Tensor, zc: Sequence[torch.Tensor | None], buf: torch.Tensor, n: int, nd: int
) -> None:
    """Write the activation's value and derivative channels into ``buf`` (``(w, n + C nd)``,
    contiguous) from the scaled pre-activation values ``z[:, :n]`` and the channels ``zc``."""
    torch.sigmoid(z[:, :n], out=buf[:, :n])
    layer.fwd(torch.get_num_threads(), buf.shape[0], n, nd, buf.data_ptr(), buf.stride(0), *channel_args(zc))


def backward(
    layer: NativeLayer, a: torch.Tensor, zc: Sequence[torch.Tensor | None], g: torch.Tensor, n: int, nd: int
) -> None:
    """Turn ``g`` (the gradient of the buffer ``a``, same shape, contiguous) into the gradient
    of the pre-activations, in place."""
    layer.bwd(
        torch.get_num_threads(),
        g.shape[0],
        n,
        nd,
        g.data_ptr(),
        g.stride(0),
        a.data_ptr(),
        a.stride(0),
        *channel_args(zc),
    )
