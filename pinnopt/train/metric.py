"""Evaluation metrics for stopping: an error against a validation set or the exact solution.

The metric differs from the training cost: it compares the model's prediction with
reference values (relative L2, or MAPE when the reference stays away from zero). It is
evaluated every ``every`` steps (a host synchronization each time), never every step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem

_KINDS = ("rel_l2", "mape")
_CHUNK = 65536


@dataclass(frozen=True)
class Metric:
    """A validation error of the model, the worst over the unknowns.

    Args:
        kind: ``"rel_l2"`` (``||pred - ref|| / ||ref||``) or ``"mape"`` (mean of
            ``|pred - ref| / |ref|``; refused when the reference comes near zero).
        reference: ``(points, values)`` with points of shape ``(N, dim)`` and values a dict
            ``{unknown: (N,) array}``, an ``(N,)`` array (one unknown) or ``(N, n_unknowns)``;
            or a callable ``points -> values`` used with ``points``; ``None`` uses the
            problem's exact solution on its evaluation grid (bound by :func:`pinnopt.solve`).
        every: evaluate every this many steps.
    """

    kind: str = "rel_l2"
    reference: Any = None
    every: int = 100
    _cache: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ConfigError(f"Metric(kind={self.kind!r}): expected one of {list(_KINDS)}")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ConfigError(f"Metric(every={self.every!r}): expected an int >= 1")
        if self.reference is not None and not (
            isinstance(self.reference, (tuple, list)) and len(self.reference) == 2
        ):
            raise ConfigError(
                "Metric(reference=...): expected (points, values) or None, got "
                f"{type(self.reference).__name__}"
            )

    def bind(self, problem: Problem) -> None:
        """Use ``problem``'s exact solution when no reference was given."""
        if self.reference is not None or "points" in self._cache:
            return
        exact = problem.exact_solution
        if exact is None:
            raise ConfigError(
                f"Metric(reference=None) needs the exact solution of problem {problem.name!r}, which "
                "declares none; pass reference=(points, values)"
            )
        pts = problem.evaluation_points()
        self._set_reference(pts, exact(pts))

    def _set_reference(self, points: Any, values: Any) -> None:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 1:
            pts = pts[:, None]
        if callable(values):
            values = values(pts)
        if pts.ndim != 2 or not np.isfinite(pts).all():
            raise ConfigError(f"Metric reference points: expected a finite (N, dim) array, got {pts.shape}")
        self._cache["points"] = pts
        self._cache["values"] = values
        self._cache.pop("tensors", None)

    def _tensors(
        self, unknowns: Sequence[str], dtype: torch.dtype, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        cached = self._cache.get("tensors")
        if cached is not None and cached[0].dtype == dtype and cached[0].device == device:
            return cached
        if "points" not in self._cache:
            if self.reference is None:
                raise ConfigError(
                    "Metric(reference=None) was not bound to a problem; pass reference=(points, values) "
                    "or train through po.solve(problem, ...) with an exact solution"
                )
            self._set_reference(*self.reference)
        pts, values = self._cache["points"], self._cache["values"]
        n = len(pts)
        cols, refs = _reference_columns(values, unknowns, n)
        if self.kind == "mape":
            scale = max(float(np.abs(refs).max()), 1e-300)
            if float(np.abs(refs).min()) <= 1e-6 * scale:
                raise ConfigError(
                    "Metric(kind='mape'): the reference comes within 1e-6 of zero (relative to its "
                    "largest value); MAPE is meaningless there, use kind='rel_l2'"
                )
        x = torch.as_tensor(pts, dtype=dtype, device=device)
        ref = torch.as_tensor(refs, dtype=dtype, device=device)
        out = (x, ref, cols)
        self._cache["tensors"] = out
        return out

    def evaluate(self, model: Callable[[torch.Tensor], torch.Tensor], unknowns: Sequence[str]) -> float:
        """The metric of ``model`` (a host synchronization)."""
        params = list(model.parameters()) if hasattr(model, "parameters") else []  # type: ignore[attr-defined]
        dtype = params[0].dtype if params else torch.float64
        device = params[0].device if params else torch.device("cpu")
        x, ref, cols = self._tensors(unknowns, dtype, device)
        with torch.no_grad():
            pred = torch.cat([model(chunk) for chunk in torch.split(x, _CHUNK)])[:, cols]
            err = pred - ref
            if self.kind == "rel_l2":
                per = err.norm(dim=0) / ref.norm(dim=0).clamp_min(torch.finfo(ref.dtype).tiny)
            else:
                per = (err.abs() / ref.abs()).mean(dim=0)
            return float(per.max())


def _reference_columns(values: Any, unknowns: Sequence[str], n: int) -> tuple[list[int], np.ndarray]:
    """Turn reference values into an ``(N, k)`` array and the model columns they belong to."""
    if isinstance(values, Mapping):
        names = [str(getattr(k, "__name__", k)) for k in values]
        bad = [k for k in names if k not in unknowns]
        if bad:
            raise ConfigError(
                f"Metric reference values for {bad}: not unknowns of the model {list(unknowns)}"
            )
        cols = [list(unknowns).index(k) for k in names]
        arr = np.stack([np.asarray(v, dtype=np.float64).reshape(-1) for v in values.values()], axis=1)
    else:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[1] != len(unknowns):
            raise ConfigError(
                f"Metric reference values have {arr.shape[1]} columns; expected {len(unknowns)} "
                f"({list(unknowns)}) or a dict by unknown"
            )
        cols = list(range(len(unknowns)))
    if arr.shape[0] != n or not np.isfinite(arr).all():
        raise ConfigError(f"Metric reference values: expected {n} finite rows, got shape {arr.shape}")
    return cols, arr
