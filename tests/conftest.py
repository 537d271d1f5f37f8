"""Shared fixtures: float64, a seeded generator, and problems with exact solutions."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(1234)


@pytest.fixture
def generator() -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(1234)
    return g
