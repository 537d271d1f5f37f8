"""Reusable CPU buffers for the fused Taylor node.

The node's large buffers (one ``(width, N + C * nd)`` activation buffer and one pre-activation
buffer per layer, and the backward's gradients) have the same shapes at every step. Fresh
allocations of that size are returned to the operating system when freed and page-faulted
back on first touch: measured 42,000 minor page faults and a quarter of the CPU time of a
Burgers 5 x 100 step (12288 points, float32). The node therefore takes them from this pool and
gives them back when its graph is freed (the forward's buffers) or when its backward pass is
done (the backward's temporaries).

Only buffers handed back with :meth:`Workspace.give` are reused, so a buffer still referenced
(a graph whose backward never ran) is never handed out twice. CUDA tensors are not pooled
(PyTorch's caching allocator already reuses device memory).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Sequence

import torch

Key = tuple[tuple[int, ...], torch.dtype, torch.device]


class Workspace:
    """A free list of CPU tensors by shape, dtype and device, holding at most ``max_bytes``."""

    def __init__(self, max_bytes: int = 1 << 30) -> None:
        self.max_bytes = max_bytes
        self._free: dict[Key, list[torch.Tensor]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def take(self, shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
        """An uninitialized contiguous tensor of ``shape`` with ``like``'s dtype and device
        (pooled when it is a CPU tensor of at least :data:`MIN_BYTES`)."""
        key = (tuple(shape), like.dtype, like.device)
        if like.is_cpu and like.element_size() * math.prod(shape) >= MIN_BYTES:
            with self._lock:
                free = self._free.get(key)
                if free:
                    t = free.pop()
                    self._bytes -= t.nbytes
                    return t
        return torch.empty(key[0], dtype=like.dtype, device=like.device)

    def give(self, *tensors: torch.Tensor | None) -> None:
        """Hand buffers obtained from :meth:`take` back (the caller no longer uses them)."""
        with self._lock:
            for t in tensors:
                if t is None or t.device.type != "cpu" or t.requires_grad or t.nbytes < MIN_BYTES:
                    continue
                if self._bytes + t.nbytes > self.max_bytes:
                    self._free.clear()
                    self._bytes = 0
                self._free.setdefault((tuple(t.shape), t.dtype, t.device), []).append(t)
                self._bytes += t.nbytes

    def clear(self) -> None:
        """Drop every pooled buffer."""
        with self._lock:
            self._free.clear()
            self._bytes = 0


MIN_BYTES = 1 << 19
"""Smaller buffers are allocated afresh: the allocator reuses them without page faults, and
the pool's bookkeeping would cost more than it saves (measured at Burgers 3 x 20). Pooling
from 512 KiB rather than 1 MiB (the float32 ``(50, 4096)`` temporaries of the derivative-order
benchmark) measured 1.03x (order 4) and 1.04x (order 2) side by side, Burgers 3 x 20 1.00x."""

WORKSPACE = Workspace()
"""The pool of the fused node (``WORKSPACE.clear()`` frees its memory)."""


class Arena(list):
    """The buffers one call takes from :data:`WORKSPACE`, handed back together by :meth:`release`
    or, at the latest, when the arena is garbage collected (the fused node keeps its forward's
    arena on its autograd context: the buffers return to the pool when the graph is freed,
    so a graph can be differentiated several times with ``retain_graph=True``)."""

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing to give back to
            self.release()

    def new(self, shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
        """A buffer of ``shape`` like ``like`` (pooled and kept until :meth:`release` when it
        holds at least :data:`MIN_BYTES` on a CPU; else a plain fresh tensor)."""
        if math.prod(shape) * like.element_size() < MIN_BYTES or not like.is_cpu:
            return like.new_empty(shape)
        t = WORKSPACE.take(shape, like)
        self.append(t)
        return t

    def release(self) -> None:
        """Give every buffer back; the caller must not use them afterwards."""
        WORKSPACE.give(*self)
        self.clear()
