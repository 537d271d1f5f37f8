"""Error metrics against an exact or reference solution."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


def relative_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    """``||pred - ref||_2 / ||ref||_2`` on the same points (absolute L2 if ``ref`` is zero)."""
    pred = np.asarray(pred, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    den = float(np.linalg.norm(ref))
    num = float(np.linalg.norm(pred - ref))
    return num / den if den > 0 else num


def max_abs_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """Largest pointwise absolute error."""
    return float(np.max(np.abs(np.asarray(pred) - np.asarray(ref))))


@dataclass(frozen=True)
class Validation:
    """Errors of a trained solution against the exact one on a fixed evaluation grid.

    Attributes:
        metrics: per unknown, ``{"rel_l2": ..., "max_abs": ...}``.
        parameters: per fitted parameter with a known value:
            ``{"fitted": ..., "exact": ..., "rel_error": ...}``.
        n_points: number of evaluation points.
        dtype: the dtype the model was evaluated in.
    """

    metrics: Mapping[str, Mapping[str, float]]
    parameters: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    n_points: int = 0
    dtype: str = "float64"

    @property
    def rel_l2(self) -> dict[str, float]:
        """Relative L2 error per unknown."""
        return {k: v["rel_l2"] for k, v in self.metrics.items()}

    @property
    def worst_rel_l2(self) -> float:
        """The largest relative L2 error over the unknowns."""
        return max(self.rel_l2.values())

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "metrics": {k: dict(v) for k, v in self.metrics.items()},
            "parameters": {k: dict(v) for k, v in self.parameters.items()},
            "n_points": self.n_points,
            "dtype": self.dtype,
        }

    def __str__(self) -> str:
        lines = [f"validation on {self.n_points} points ({self.dtype})"]
        lines.append(f"  {'unknown':<10} {'rel L2':>12} {'max abs':>12}")
        for name, m in self.metrics.items():
            lines.append(f"  {name:<10} {m['rel_l2']:>12.3e} {m['max_abs']:>12.3e}")
        if self.parameters:
            lines.append(f"  {'parameter':<10} {'fitted':>12} {'exact':>12} {'rel err':>12}")
            for name, p in self.parameters.items():
                lines.append(f"  {name:<10} {p['fitted']:>12.6g} {p['exact']:>12.6g} {p['rel_error']:>12.3e}")
        return "\n".join(lines)
