"""Error metrics against an exact solution or a numerical reference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ValidationError

MAPE_FLOOR = 1e-2
"""MAPE skips points where ``|ref| <= MAPE_FLOOR * max|ref|`` (the reference is near zero)."""

MAPE_MAX_EXCLUDED = 0.5
"""MAPE is refused (``None``) when more than this fraction of the points is near zero."""


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


def mse(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean squared error."""
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(ref, dtype=np.float64)
    return float(np.mean(diff * diff))


@dataclass(frozen=True)
class Mape:
    """Mean absolute percentage error where the reference is away from zero.

    Attributes:
        value: the mean of ``|pred - ref| / |ref|`` (a fraction, 0.01 = 1 %) over the kept
            points, or None when it was refused.
        excluded: number of points skipped because ``|ref| <= floor``.
        floor: the absolute threshold used (``floor_rel * max|ref|``).
        note: why the value is None, or an empty string.
    """

    value: float | None
    excluded: int
    floor: float
    note: str = ""


def mape(
    pred: np.ndarray,
    ref: np.ndarray,
    *,
    floor_rel: float = MAPE_FLOOR,
    max_excluded: float = MAPE_MAX_EXCLUDED,
) -> Mape:
    """MAPE on the points where ``|ref| > floor_rel * max|ref|``; says how many were skipped.

    Refused (``value=None`` with a note) when the reference is zero everywhere or when more
    than ``max_excluded`` of the points are near zero: a percentage error is meaningless there.
    """
    pred = np.asarray(pred, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    floor = floor_rel * scale
    keep = np.abs(ref) > floor
    excluded = int(ref.size - keep.sum())
    if scale == 0.0 or not keep.any():
        return Mape(None, excluded, floor, "the reference is zero everywhere")
    if excluded > max_excluded * ref.size:
        return Mape(
            None,
            excluded,
            floor,
            f"{excluded} of {ref.size} points have |ref| <= {floor:.3g}; a percentage error is meaningless",
        )
    value = float(np.mean(np.abs(pred[keep] - ref[keep]) / np.abs(ref[keep])))
    return Mape(value, excluded, floor)


def compute_metrics(pred: np.ndarray, ref: np.ndarray, *, name: str = "u") -> dict[str, Any]:
    """Every pointwise metric of one unknown: rel_l2, max_abs, mse, mape (+ how many skipped).

    Raises:
        ValidationError: when the reference is NaN or infinite somewhere (e.g. a reference
            file interpolated outside the points it covers) or the shapes differ.
    """
    pred = np.asarray(pred, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    if pred.shape != ref.shape:
        raise ValidationError(f"{name}: prediction has {pred.size} values but the reference {ref.size}")
    bad = int((~np.isfinite(ref)).sum())
    if bad:
        raise ValidationError(
            f"{name}: the reference solution is NaN/Inf at {bad} of {ref.size} evaluation points "
            "(a reference file interpolated outside the points it covers?); validate on the "
            "reference's own points: result.validate(points=problem.exact_solution.reference_points)"
        )
    m = mape(pred, ref)
    return {
        "rel_l2": relative_l2(pred, ref),
        "max_abs": max_abs_error(pred, ref),
        "mse": mse(pred, ref),
        "mape": m.value,
        "mape_excluded": m.excluded,
        **({"mape_note": m.note} if m.note else {}),
    }


def parameter_errors(fitted: Mapping[str, float], exact: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Relative error of each fitted parameter with a known value."""
    out = {}
    for name, value in exact.items():
        err = abs(fitted[name] - value) / max(abs(value), 1e-300)
        out[name] = {"fitted": float(fitted[name]), "exact": float(value), "rel_error": float(err)}
    return out


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


@dataclass(frozen=True)
class Validation:
    """Errors of a trained solution against the exact (or a numerical reference) solution
    on a fixed evaluation grid.

    Attributes:
        metrics: per unknown, ``{"rel_l2", "max_abs", "mse", "mape", "mape_excluded"}``
            (``mape`` is a fraction, None when refused; see :func:`mape`).
        parameters: per fitted parameter with a known value:
            ``{"fitted": ..., "exact": ..., "rel_error": ...}``.
        n_points: number of evaluation points.
        dtype: the dtype the model was evaluated in.
        reference: what the prediction was compared with: ``"exact"`` (a sympy solution)
            or ``"reference"`` (a numerical one: a callable, reference data).
        up_to_constant: the unknowns compared up to an additive constant (the mean over
            the evaluation points removed from prediction and reference).
    """

    metrics: Mapping[str, Mapping[str, Any]]
    parameters: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    n_points: int = 0
    dtype: str = "float64"
    reference: str = "exact"
    up_to_constant: tuple[str, ...] = ()

    @property
    def rel_l2(self) -> dict[str, float]:
        """Relative L2 error per unknown."""
        return {k: v["rel_l2"] for k, v in self.metrics.items()}

    @property
    def worst_rel_l2(self) -> float:
        """The largest relative L2 error over the unknowns (of the parameters when there is no
        unknown function)."""
        if not self.metrics:
            return max((p["rel_error"] for p in self.parameters.values()), default=float("nan"))
        return max(self.rel_l2.values())

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "metrics": {k: dict(v) for k, v in self.metrics.items()},
            "parameters": {k: dict(v) for k, v in self.parameters.items()},
            "n_points": self.n_points,
            "dtype": self.dtype,
            "reference": self.reference,
            "up_to_constant": list(self.up_to_constant),
        }

    def __str__(self) -> str:
        if not self.metrics:  # an optimization over parameters: only their known optimum
            lines = [f"validation of the parameters against their known optimum ({self.dtype})"]
        else:
            lines = [
                f"validation against the {self.reference} solution on {self.n_points} points ({self.dtype})"
            ]
            if self.up_to_constant:
                lines.append(f"  (up to an additive constant: {', '.join(self.up_to_constant)})")
            lines.append(f"  {'unknown':<10} {'rel L2':>12} {'max abs':>12} {'MSE':>12} {'MAPE %':>10}")
        for name, m in self.metrics.items():
            mp = m.get("mape")
            lines.append(
                f"  {name:<10} {m['rel_l2']:>12.3e} {m['max_abs']:>12.3e} {_fmt(m.get('mse'), '12.3e'):>12} "
                f"{_fmt(None if mp is None else 100 * mp, '10.3g'):>10}"
            )
        for name, m in self.metrics.items():
            if m.get("mape_note"):
                lines.append(f"  ({name}: MAPE refused: {m['mape_note']})")
            elif m.get("mape_excluded"):
                lines.append(
                    f"  ({name}: MAPE skips {m['mape_excluded']} points where the {self.reference} is ~0)"
                )
        if self.parameters:
            lines.append(f"  {'parameter':<10} {'fitted':>12} {'exact':>12} {'rel err':>12}")
            for name, p in self.parameters.items():
                lines.append(f"  {name:<10} {p['fitted']:>12.6g} {p['exact']:>12.6g} {p['rel_error']:>12.3e}")
        return "\n".join(lines)
