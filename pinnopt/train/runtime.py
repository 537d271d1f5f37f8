"""How a run executes: device, derivative engine, torch.compile, data parallelism, the
divergence guard and the progress display (``po.Runtime``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigError
from ..symbolic import DerivativeEngine
from .compiled import compile_options
from .guard import DivergenceGuard


@dataclass(frozen=True)
class Runtime:
    """Execution settings of :func:`pinnopt.solve`; none of them changes what is minimized.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` (float32 only); default CUDA
            when available, else the CPU.
        engine: the derivative engine. Default: ``po.nn.AutoEngine()``, which propagates
            derivatives forward (Taylor mode) through recognized MLPs when a point set needs
            derivatives of order >= 2, and uses reverse-mode autograd otherwise;
            ``po.nn.AutogradEngine()`` forces reverse mode everywhere.
        compile: ``torch.compile`` the objective (forward and backward): True, or a dict of
            ``torch.compile`` options. Compiling takes seconds to tens of seconds at the first
            step. The compiled objective traces the unfused Taylor path, so on CPUs with native
            kernels (tanh or sigmoid networks, docs/training.md) it was measured slower than the
            default eager step (x0.86-0.91 its steps/s, ``benchmarks/speed_peers.py``); elsewhere (other
            activations, CUDA) it can be faster: measure before a long run.
            The dict is checked here (keys ``torch.compile`` takes, a known backend or a
            callable, an inductor mode), a bad entry is a ``ConfigError`` naming it.
        distributed: data-parallel training under ``torchrun`` (default: when ``WORLD_SIZE`` > 1).
        guard: the divergence guard (default ``po.optim.DivergenceGuard()``: 3 retries, lr x0.5).
        progress: show progress (default True): a tqdm bar on a terminal, a plain line per
            check point on stderr otherwise (logger ``pinnopt.progress``: step, phase, loss,
            per-term losses, steps/s, time left); ``False``: nothing; ``None``: the bar on a
            terminal, nothing otherwise.
        matmul_precision: float32 matrix products during training
            (``torch.set_float32_matmul_precision``, restored afterwards): ``"highest"``
            (full float32), ``"high"`` (TF32 on NVIDIA GPUs since Ampere), ``"medium"`` (also
            bfloat16 where the backend offers it); default None leaves torch's setting alone.
            Float32 runs only (a float64 run warns that it has no effect); measure before
            adopting it (``python -m benchmarks.gpu``): derivatives of order two and more lose
            digits quickly with 10-bit mantissas.
    """

    device: str | torch.device | None = None
    engine: DerivativeEngine | None = None
    compile: bool | Mapping[str, Any] = False
    distributed: bool | None = None
    guard: DivergenceGuard | None = None
    progress: bool | None = True
    matmul_precision: str | None = None

    def __post_init__(self) -> None:
        if self.device is not None and not isinstance(self.device, (str, torch.device)):
            raise ConfigError(f"Runtime(device={self.device!r}): expected 'cpu', 'cuda', 'cuda:N' or 'mps'")
        if self.engine is not None and not isinstance(self.engine, DerivativeEngine):
            raise ConfigError(
                f"Runtime(engine={self.engine!r}): expected a DerivativeEngine such as po.nn.AutoEngine()"
            )
        if not isinstance(self.compile, (bool, Mapping)):
            raise ConfigError(f"Runtime(compile={self.compile!r}): expected True/False or a dict of options")
        compile_options(self.compile, "Runtime")  # keys, backend and mode, before any compiling
        if self.distributed not in (None, True, False):
            raise ConfigError(
                f"Runtime(distributed={self.distributed!r}): expected None (auto), True or False"
            )
        if self.guard is not None and not isinstance(self.guard, DivergenceGuard):
            raise ConfigError(f"Runtime(guard={self.guard!r}): expected po.optim.DivergenceGuard(...)")
        if self.progress is not None and not isinstance(self.progress, bool):
            raise ConfigError(f"Runtime(progress={self.progress!r}): expected True, False or None")
        if self.matmul_precision not in (None, *MATMUL_PRECISIONS):
            raise ConfigError(
                f"Runtime(matmul_precision={self.matmul_precision!r}): expected one of "
                f"{', '.join(map(repr, MATMUL_PRECISIONS))} or None (torch's current setting)"
            )

    @contextlib.contextmanager
    def precision_scope(self) -> Iterator[None]:
        """Apply ``matmul_precision`` for the duration of a ``with`` block, then restore."""
        if self.matmul_precision is None:
            yield
            return
        before = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision(self.matmul_precision)
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(before)


MATMUL_PRECISIONS = ("highest", "high", "medium")
