"""Shared helpers: output folder, side-by-side timing, the Burgers speed configuration."""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sympy as sp
import torch

import pinnopt as po

RESULTS = Path(__file__).resolve().parent / "results"

HEAP_LIMIT = 32 * 1024 * 1024
"""glibc's largest mmap threshold (64-bit): allocations up to 32 MiB come from the heap."""


def heap_allocator() -> str:
    """Serve allocations up to 32 MiB from glibc's heap and never trim it (``mallopt``).

    By default glibc maps large blocks fresh from the kernel (page faults on first touch) and
    raises that threshold only after some have been freed, so a runner that allocates fresh
    buffers every step (nested autograd, DeepXDE) runs faster or slower depending on what
    ran before it in the process: the hand-written Burgers 5 x 100 loop was measured at 204
    to 316 ms per step. With this setting every runner allocates from a warm heap, the
    fastest state for the loops that allocate. Returns a description for the results, or
    ``"default"`` where mallopt is not available.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "default"
    m_trim_threshold, m_mmap_threshold = -1, -3
    if mallopt(m_mmap_threshold, HEAP_LIMIT) != 1 or mallopt(m_trim_threshold, 1 << 30) != 1:
        return "default"
    return "glibc heap up to 32 MiB, no trim"


def add_machine_options(ap: argparse.ArgumentParser) -> None:
    """``--threads`` (default 1) and ``--allocator`` (default ``heap``) of the speed benchmarks."""
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one thread each)")
    ap.add_argument(
        "--allocator",
        choices=["heap", "default"],
        default="heap",
        help="heap: every runner allocates from a warm glibc heap (benchmarks.common.heap_allocator)",
    )


def apply_machine_options(args: argparse.Namespace) -> str:
    """Set the torch threads and the allocator of :func:`add_machine_options`; the allocator's description."""
    torch.set_num_threads(args.threads)
    return heap_allocator() if args.allocator == "heap" else "default"


def interleaved(
    runners: dict[str, Callable[[int], None]],
    steps: int,
    rounds: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Time each runner for ``steps`` steps, alternating runners round by round.

    Alternating in one process exposes every runner to the same machine noise; returns the
    steps/s of every round per runner. ``clock=time.process_time`` measures this process's
    CPU time instead of wall time (less sensitive to other processes on a shared machine
    when torch runs one thread).
    """
    for fn in runners.values():
        for _ in range(warmup):
            fn(max(1, steps // 5))
    rates: dict[str, list[float]] = {k: [] for k in runners}
    for r in range(rounds):
        order = list(runners) if r % 2 == 0 else list(reversed(runners))
        for name in order:
            t0 = clock()
            runners[name](steps)
            rates[name].append(steps / (clock() - t0))
    return rates


def ratio_summary(rates: dict[str, list[float]], numerator: str, denominator: str) -> dict[str, float]:
    """Median per-round ratio of two runners' steps/s, with min and max over rounds."""
    ratios = [a / b for a, b in zip(rates[numerator], rates[denominator], strict=True)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def burgers_speed_problem() -> po.Problem:
    """Burgers with the peers' speed configuration: 2540 interior, 80 boundary, 160 initial."""
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    return po.Problem(
        domain=po.Interval(x, -1, 1) * po.Interval(t, 0, 1),
        equations=[u.diff(t) + u * u.diff(x) - sp.Rational(1, 100) / sp.pi * u.diff(x, 2)],
        conditions=[
            po.On(sp.Eq(x, -1), u, n=40),
            po.On(sp.Eq(x, 1), u, n=40),
            po.On(sp.Eq(t, 0), u + sp.sin(sp.pi * x), n=160),
        ],
        name="burgers-speed",
    )


def median(values: list[float]) -> float:
    return float(np.median(values))


def set_threads() -> int:
    """Use every core (the default) and report how many torch uses."""
    return torch.get_num_threads()
