"""Where a sweep's study lives: Optuna (an optional dependency) and its storages.

Layer ``workflows``.
"""

from __future__ import annotations

import random
import time
from typing import Any

from ..errors import ConfigError


def load_optuna() -> Any:
    """The ``optuna`` module, or a :class:`ConfigError` naming the extra that installs it."""
    try:
        import optuna
    except ImportError as exc:
        raise ConfigError(
            "hyperparameter sweeps need Optuna, an optional dependency: pip install 'pinnopt[sweep]' "
            "(or pip install optuna)"
        ) from exc
    return optuna


def open_study(optuna: Any, storage: Any, name: str, **kwargs: Any) -> Any:
    """Create or load the study ``name`` in ``storage`` (retrying while another process creates
    it at the same time); SQLite connections wait up to two minutes for a lock."""
    from sqlalchemy.exc import ArgumentError

    last: Exception | None = None
    for attempt in range(12):
        try:
            store = storage
            if isinstance(storage, str) and storage.startswith("sqlite:"):
                store = optuna.storages.RDBStorage(storage, engine_kwargs={"connect_args": {"timeout": 120}})
            return optuna.create_study(
                storage=store, study_name=name, load_if_exists=True, direction="minimize", **kwargs
            )
        except (ImportError, ValueError, TypeError, ArgumentError) as exc:  # a bad URL: no retry helps
            raise ConfigError(f"sweep storage {masked(storage)!s}: {one_line(exc)}") from exc
        except Exception as exc:  # concurrent creation of the tables or of the study
            last = exc
        time.sleep(0.05 * (attempt + 1) + random.random() * 0.1)
    raise ConfigError(f"sweep storage {masked(storage)!s}: cannot open study {name!r}: {last}")


def masked(storage: Any) -> str:
    """The storage URL with its password hidden."""
    if not isinstance(storage, str):
        return type(storage).__name__
    head, sep, tail = storage.partition("://")
    if sep and "@" in tail and ":" in tail.split("@", 1)[0]:
        user = tail.split("@", 1)[0].split(":", 1)[0]
        return f"{head}://{user}:***@{tail.split('@', 1)[1]}"
    return storage


def one_line(value: Any) -> str:
    """``value`` as one line of at most 500 characters (for a trial's reason)."""
    text = " ".join(str(value).split())
    return text[:500] + ("..." if len(text) > 500 else "")
