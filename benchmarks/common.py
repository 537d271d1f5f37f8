"""Shared helpers: output folder, side-by-side timing, the Burgers speed configuration."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sympy as sp
import torch

import pinnopt as po

RESULTS = Path(__file__).resolve().parent / "results"


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
