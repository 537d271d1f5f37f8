"""Shared fixtures: float64, a seeded generator, and problems with exact solutions."""

from __future__ import annotations

import os
import time

import pytest
import torch

try:  # property-based tests (tests/test_properties.py); hypothesis is in the test extras
    from hypothesis import settings
except ImportError:  # pragma: no cover - the property tests skip themselves
    settings = None

if settings is not None:
    # PINNOPT_HYPOTHESIS=long: 500 random examples per property (fresh ones each run);
    # default: 100, derandomized so that a CI run is reproducible.
    settings.register_profile("default", max_examples=100, deadline=None, derandomize=True, database=None)
    settings.register_profile("long", max_examples=500, deadline=None, database=None)
    settings.load_profile(os.environ.get("PINNOPT_HYPOTHESIS", "default"))


def pytest_configure(config: pytest.Config) -> None:
    # The suite's networks are small: one intra-op thread is as fast as two on an idle
    # machine and avoids OpenMP threads spinning against each other on a busy one.
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(1234)


class Timer:
    """Wall and CPU time of a block; ``seconds`` is the smaller (robust to a busy machine)."""

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w
        self.cpu = time.process_time() - self._c
        self.seconds = min(self.wall, self.cpu)


@pytest.fixture
def timer() -> type[Timer]:
    return Timer


@pytest.fixture
def generator() -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(1234)
    return g
