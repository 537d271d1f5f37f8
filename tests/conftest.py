"""Shared fixtures: float64, a seeded generator, and problems with exact solutions."""

from __future__ import annotations

import time

import pytest
import torch


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
