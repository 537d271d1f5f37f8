"""Type checks of :func:`pinnopt.solve`'s options, before anything is built."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .domain.sampling import Collocation
from .errors import ConfigError
from .train import Phase

SEED_LIMIT = 2**62
"""Seeds lie in ``(-2**62, 2**62)``: torch takes 64-bit seeds, and solve derives a few from each."""


def check_solve_options(
    *, seed: Any, phases: Any, collocation: Any, callbacks: Any, hooks: Any, resume: Any, progress: Any
) -> None:
    """Refuse solve options of the wrong type before anything is built (each named in its message).

    Raises:
        ConfigError: naming the option, the value and what is expected.
    """
    integer = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    if not integer or not -SEED_LIMIT < seed < SEED_LIMIT:
        raise ConfigError(f"seed={seed!r}: expected an int with |seed| < 2**62")
    if isinstance(phases, Phase):
        raise ConfigError(f"phases={phases!r}: expected a list of phases, e.g. phases=[{phases!r}]")
    if (phases is not None and not isinstance(phases, Sequence)) or isinstance(phases, str):
        raise ConfigError(f"phases={phases!r}: expected a non-empty list of po.Adam/po.LBFGS/...")
    if collocation is not None and not isinstance(collocation, Collocation):
        raise ConfigError(
            f"collocation={collocation!r}: expected po.Collocation(interior=..., boundary=...)"
        )
    for name, value in (("callbacks", callbacks), ("hooks", hooks)):
        if value is not None and (isinstance(value, (str, bytes)) or not isinstance(value, Iterable)):
            raise ConfigError(f"{name}={value!r}: expected a list (of functions or po.Callback / hooks)")
    if resume is not None and not isinstance(resume, (str, os.PathLike)):
        raise ConfigError(f"resume={resume!r}: expected a checkpoint file or folder (a path)")
    if progress is not None and not isinstance(progress, bool):
        raise ConfigError(f"progress={progress!r}: expected True, False or None (only on a terminal)")
