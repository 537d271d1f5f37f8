"""Run identity: a fingerprint of what defines a training run, checked on resume.

Every checkpoint records the fingerprint of its run (a hash plus the readable fields) and the
settings that may change on resume (step budgets, stopping criteria, ``log_every``, device,
checkpoint settings). Resuming refuses a checkpoint whose fingerprint differs and lists the
fields that differ; changed settings are reported, not refused.

The texts are stable across processes: no memory addresses, sets in sorted order, sympy
expressions by ``srepr``, tensors and arrays by a hash of their bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

BUDGET_FIELDS = ("steps", "epochs", "stop")
"""Phase fields that may change on resume (its budget and stopping criterion)."""

_PROBLEM_FIELDS = (
    "domain",
    "equations",
    "conditions",
    "parameters",
    "constants",
    "data",
    "bounds",
    "regularization",
    "equalities",
    "energy",
    "uncertain",
    "minimize",
)


def stable_text(obj: Any, *, skip: Sequence[str] = ()) -> str:
    """A text of ``obj`` that is the same in every process for the same declaration.

    Dataclasses are written field by field (``skip`` names fields left out of the top-level
    dataclass), sympy objects by ``srepr``, tensors and arrays by dtype, shape and a hash of
    their bytes, functions by their qualified name; other objects by ``repr`` without
    memory addresses.
    """
    import sympy as sp

    if obj is None or isinstance(obj, (bool, int, float, str)):
        return repr(obj)
    if isinstance(obj, enum.Enum):
        return f"{type(obj).__name__}.{obj.name}"
    if isinstance(obj, sp.Basic):
        return sp.srepr(obj)
    if isinstance(obj, torch.Tensor):
        data = obj.detach().cpu().contiguous()
        digest = hashlib.sha256(data.reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()
        return f"tensor({data.dtype!s}, {tuple(data.shape)}, {digest[:16]})"
    if isinstance(obj, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()
        return f"array({obj.dtype}, {obj.shape}, {digest[:16]})"
    if isinstance(obj, torch.dtype):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        parts = [
            f"{f.name}={stable_text(getattr(obj, f.name, None))}"
            for f in dataclasses.fields(obj)
            if f.name not in skip and f.name != "_"
        ]
        return f"{type(obj).__name__}({', '.join(parts)})"
    if isinstance(obj, Mapping):
        return "{" + ", ".join(f"{stable_text(k)}: {stable_text(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (set, frozenset)):
        return "{" + ", ".join(sorted(stable_text(v) for v in obj)) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(stable_text(v) for v in obj) + "]"
    if isinstance(obj, torch.nn.Module):
        shapes = [f"{k}:{tuple(v.shape)}" for k, v in obj.state_dict().items()]
        return f"{type(obj).__qualname__}({', '.join(shapes)})"
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"{getattr(obj, '__module__', '?')}.{obj.__qualname__}"
    return _ADDRESS.sub("", repr(obj))


def problem_text(problem: Any) -> str:
    """The stable text of a problem declaration (name, domain, equations, conditions...)."""
    parts = [f"name={problem.name!r}"]
    parts += [f"{f}={stable_text(getattr(problem, f, None))}" for f in _PROBLEM_FIELDS]
    return "Problem(" + ", ".join(parts) + ")"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunIdentity:
    """What defines a run (``fields``: resuming needs the same) and what may change (``settings``).

    Both map a field name to its readable text.
    """

    fields: dict[str, str]
    settings: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def hash(self) -> str:
        """A short hash of :attr:`fields`."""
        return _digest("\n".join(f"{k}={v}" for k, v in sorted(self.fields.items())))

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint form (plain strings)."""
        return {"hash": self.hash, "fields": dict(self.fields), "settings": dict(self.settings)}

    def differences(self, recorded: Mapping[str, Any]) -> list[str]:
        """The fields that differ from a recorded :meth:`to_dict` (``"name: old -> new"``)."""
        old = dict(recorded.get("fields") or {})
        out = []
        for key in sorted(set(old) | set(self.fields)):
            a, b = old.get(key, "<absent>"), self.fields.get(key, "<absent>")
            if a != b:
                out.append(f"{key}: {_short(a)} -> {_short(b)}")
        return out

    def changed_settings(self, recorded: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """``{setting: {"checkpoint": old, "now": new}}`` for the settings that changed."""
        old = dict(recorded.get("settings") or {})
        return {
            k: {"checkpoint": old.get(k, "<absent>"), "now": v}
            for k, v in self.settings.items()
            if old.get(k, "<absent>") != v
        }


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... (hash {_digest(text)})"


def solve_identity(
    problem: Any,
    *,
    model: Any,
    collocation: Any,
    phases: Sequence[Any],
    seed: int,
    dtype: torch.dtype,
    strategies: Sequence[Any] = (),
    points: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> RunIdentity:
    """The identity of a ``po.solve`` run.

    Args:
        problem: the problem (its declaration: name, equations, conditions, parameters...).
        model: the model spec or module.
        collocation: the collocation spec.
        phases: the phases; their kinds and settings count, their budgets (``steps``,
            ``epochs``) and ``stop`` criteria do not (they go to ``settings``).
        seed: the seed.
        dtype: the floating dtype.
        strategies: the training strategies (balance, causal, curriculum).
        points: point sets given instead of sampled ones (hashed).
        extra: more defining fields (hard constraints, default batching...).
        settings: options that may change on resume (recorded, reported when changed).
    """
    text = problem_text(problem)
    fields = {
        "problem": str(problem.name),
        "problem_declaration": f"sha256:{_digest(text)}",
        "model": stable_text(model),
        "collocation": stable_text(collocation),
        "strategies": stable_text(list(strategies)),
        "seed": str(int(seed)),
        "dtype": str(dtype).replace("torch.", ""),
        "phases": "[" + ", ".join(stable_text(p, skip=BUDGET_FIELDS) for p in phases) + "]",
    }
    if points is not None:
        fields["points"] = stable_text({k: (v.x, dict(v.data)) for k, v in points.items()})
    for key, value in (extra or {}).items():
        fields[key] = stable_text(value)
    budgets = [
        {f: getattr(p, f) for f in BUDGET_FIELDS if hasattr(p, f) and getattr(p, f) is not None}
        for p in phases
    ]
    all_settings = {"phase_budgets": _ADDRESS.sub("", repr(budgets))}
    for key, value in (settings or {}).items():
        all_settings[key] = value if isinstance(value, str) else _ADDRESS.sub("", repr(value))
    return RunIdentity(fields, all_settings)
