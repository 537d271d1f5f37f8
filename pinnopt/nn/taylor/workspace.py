"""Reusable CPU buffers for the fused Taylor node.

The node's large buffers (one ``(width, N + C * nd)`` activation buffer and one pre-activation
buffer per layer, and the backward's gradients) have the same shapes at every step. Fresh
allocations of that size are returned to the operating system when freed and page-faulted
back on first touch: measured 42,000 minor page faults and a quarter of the CPU time of a
Burgers 5 x 100 step (12288 points, float32). The node therefore takes them from this pool and
gives them back when its backward pass is done.

Only buffers handed back with :meth:`Workspace.give` are reused, so a buffer still referenced
(a graph whose backward never ran) is never handed out twice. CUDA tensors are not pooled
(PyTorch's caching allocator already reuses device memory).
"""

from __future__ import annotations

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
        """An uninitialized contiguous tensor of ``shape`` with ``like``'s dtype and device."""
        key = (tuple(shape), like.dtype, like.device)
        if like.device.type == "cpu":
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
                if t is None or t.device.type != "cpu" or t.requires_grad:
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


WORKSPACE = Workspace()
"""The pool of the fused node (``WORKSPACE.clear()`` frees its memory)."""


class Arena(list):
    """The buffers one call takes from :data:`WORKSPACE`, handed back together by :meth:`release`."""

    def new(self, shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
        """A buffer of ``shape`` like ``like`` (kept until :meth:`release`)."""
        t = WORKSPACE.take(shape, like)
        self.append(t)
        return t

    def release(self) -> None:
        """Give every buffer back; the caller must not use them afterwards."""
        WORKSPACE.give(*self)
        self.clear()
