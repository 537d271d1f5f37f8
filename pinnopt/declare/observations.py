"""Observation data: measured values of unknowns, or of expressions of them, at given points.

::

    obs = po.Observations(points, {u: u_measured})               # arrays (numpy or torch)
    obs = po.Observations(points, {u.diff(x): slope, u + v: s})  # any expression of unknowns
    obs = po.Observations.from_csv("data.csv")                   # columns: x, t, u [, w]
    problem = po.Problem(..., data=[obs])

Each observed quantity becomes a data term ``mean(w * (expr - observed)^2) / mean(w)``
named ``"<name>:<quantity>"``. Bad data is refused when the problem is built, with a
:class:`~pinnopt.errors.DataError` naming the column and row: NaN or Inf, mismatched
shapes, points outside the domain, unknown column names. Nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
import torch
from sympy.core.function import AppliedUndef

from ..domain import Domain, Points
from ..errors import DataError, as_number
from ..symbolic import Field, SymbolContext, compile_expression
from .items import Condition, TermSpec
from .tables import read_csv_table

_OUTSIDE_TOL = 1e-9


@dataclass(frozen=True)
class Observations(Condition):
    """Observed values at points, fitted by data terms.

    Args:
        points: ``(N, dim)`` coordinates in the problem's coordinate order, or a dict
            ``{coordinate: (N,) values}`` (symbols or names).
        values: ``{quantity: (N,) observed values}``; a quantity is an unknown ``u(x, t)``
            (or its name ``"u"``) or any expression of unknowns and derivatives.
        weights: optional ``(N,)`` positive per-point weights.
        name: names the point set and prefixes the terms (``"data:u"``).
        weight: the weight of every data term in the objective.
        observed: for tables (CSV): ``{column: expression}`` for columns that are not
            unknowns (e.g. ``{"slope": u.diff(x)}``).
        weights_column: for tables: the column holding per-point weights.
        table: for tables: every column by name (use :meth:`from_csv`).
        source: where the data came from, for messages.
        lines: for tables: the file line of each row, for messages.
    """

    points: Any = None
    values: Mapping[Any, Any] | None = None
    weights: Any = None
    name: str = "data"
    weight: float = 1.0
    observed: Mapping[str, Any] = field(default_factory=dict)
    weights_column: str | None = None
    table: Mapping[str, np.ndarray] | None = None
    source: str = ""
    lines: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name in ("interior", "boundary"):
            raise DataError(
                f"Observations(name={self.name!r}): expected a non-empty name (not a region name)"
            )
        w = as_number(self.weight, f"observations {self.name!r}: weight", DataError)
        if not (w > 0 and np.isfinite(w)):
            raise DataError(f"observations {self.name!r}: weight={self.weight!r} must be positive and finite")
        for key, expr in dict(self.observed).items():
            if not isinstance(expr, sp.Basic):
                raise DataError(f"observations {self.name!r}: observed[{key!r}] must be a sympy expression")
        if self.table is not None:
            if self.points is not None or self.values is not None:
                raise DataError(f"observations {self.name!r}: give either a table or points and values")
            n = {len(v) for v in self.table.values()}
            if len(n) != 1 or 0 in n:
                raise DataError(
                    f"observations {self.name!r}: table columns must have the same, non-zero length"
                )
            return
        if self.points is None or not self.values:
            raise DataError(
                f"observations {self.name!r}: give points and a non-empty dict of values "
                "{quantity: observed values}, or use Observations.from_csv"
            )
        if isinstance(self.points, Mapping):
            cols = {str(k): self._column(v, f"coordinate {k}") for k, v in self.points.items()}
            n_rows = self._same_length(cols, "points")
        else:
            pts = _array(self.points)
            if pts.ndim == 1:
                pts = pts[:, None]
            if pts.ndim != 2 or pts.shape[0] == 0:
                raise DataError(
                    f"observations {self.name!r}: points must have shape (N, dim) with N >= 1, "
                    f"got {pts.shape}"
                )
            for j in range(pts.shape[1]):
                self._finite(pts[:, j], f"points column {j}")
            n_rows = pts.shape[0]
        vals = {}
        for key, value in self.values.items():
            if not isinstance(key, (str, sp.Basic)):
                raise DataError(
                    f"observations {self.name!r}: quantity {key!r} must be an unknown, its name or a "
                    "sympy expression"
                )
            vals[key] = self._column(value, f"values of {key}")
            if len(vals[key]) != n_rows:
                raise DataError(
                    f"observations {self.name!r}: values of {key} have {len(vals[key])} rows but there are "
                    f"{n_rows} points"
                )
        if self.weights is not None:
            wts = self._column(self.weights, "weights")
            if len(wts) != n_rows:
                raise DataError(
                    f"observations {self.name!r}: weights have {len(wts)} rows but there are {n_rows} points"
                )
            self._positive(wts, "weights")

    # -- reading ----------------------------------------------------------------------------------
    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        observed: Mapping[str, Any] | None = None,
        weights: str | None = None,
        name: str | None = None,
        weight: float = 1.0,
    ) -> Observations:
        """Read a CSV file with a header: coordinate columns, observed columns, optional weights.

        Columns named like an unknown observe it; other observed columns need an entry in
        ``observed`` (``{"slope": u.diff(x)}``); ``weights`` names the weights column.
        """
        path = Path(path)
        table = read_csv_table(path, "observations file")
        return cls(
            table=table.columns(),
            lines=table.lines,
            observed=dict(observed or {}),
            weights_column=weights,
            name=name or path.stem or "data",
            weight=weight,
            source=str(path),
        )

    # -- compiling --------------------------------------------------------------------------------
    def expressions(self) -> list[sp.Expr]:
        exprs = [e for e in dict(self.observed).values()]
        if self.values:
            exprs += [k for k in self.values if isinstance(k, sp.Basic)]
        return exprs

    def term_specs(self, domain: Domain, ctx: SymbolContext, what: str) -> list[TermSpec]:
        points, quantities, weights = self._resolve(domain, ctx)
        outside = ~domain.contains(torch.as_tensor(points), tol=_OUTSIDE_TOL * _scale(domain)).numpy()
        if outside.any():
            rows = np.flatnonzero(outside)
            names = [str(c) for c in domain.coordinates]
            shown = ", ".join(
                f"{self._row(int(i))} {dict(zip(names, points[i].tolist(), strict=True))}" for i in rows[:3]
            )
            raise DataError(
                f"observations {self.name!r}: {len(rows)} point(s) lie outside the domain {domain}: {shown}"
            )
        data: dict[str, np.ndarray] = {}
        specs: list[TermSpec] = []
        region = Points(points, name=self.name, data={})
        for label, (expr, values) in quantities.items():
            # with no unknown function, an observed quantity is an expression of the coordinates
            # and the parameters (a parametric model such as A * exp(-k * t))
            compiled = compile_expression(
                expr, ctx, what=f"{what} ({self.name}: {label})", require_unknown=bool(ctx.unknowns)
            )
            key = f"observed:{label}"
            data[key] = values
            wkey = "observed_weight" if weights is not None else None
            specs.append(
                TermSpec(
                    f"{self.name}:{label}", region, compiled, None, float(self.weight), "data",
                    target=key, point_weights=wkey, source=self,
                )
            )  # fmt: skip
        if weights is not None:
            data["observed_weight"] = weights
        region.data.update({k: torch.as_tensor(v, dtype=torch.float64) for k, v in data.items()})
        return specs

    def _resolve(
        self, domain: Domain, ctx: SymbolContext
    ) -> tuple[np.ndarray, dict[str, tuple[sp.Expr, np.ndarray]], np.ndarray | None]:
        coords = [str(c) for c in domain.coordinates]
        if self.table is not None:
            return self._resolve_table(coords, ctx)
        if isinstance(self.points, Mapping):
            cols = {str(k): _array(v).reshape(-1) for k, v in self.points.items()}
            self._check_names(cols, coords, "points")
            points = np.stack([cols[c] for c in coords], axis=1)
        else:
            points = _array(self.points)
            points = points[:, None] if points.ndim == 1 else points
            if points.shape[1] != len(coords):
                raise DataError(
                    f"observations {self.name!r}: points have {points.shape[1]} columns but the problem's "
                    f"coordinates are {coords}"
                )
        quantities = {}
        for key, value in (self.values or {}).items():
            expr = self._unknown(key, ctx) if isinstance(key, str) else key
            label = _label(expr, ctx)
            if label in quantities:
                raise DataError(f"observations {self.name!r}: quantity {label} is given twice")
            quantities[label] = (expr, _array(value).reshape(-1))
        weights = None if self.weights is None else _array(self.weights).reshape(-1)
        return points, quantities, weights

    def _resolve_table(
        self, coords: list[str], ctx: SymbolContext
    ) -> tuple[np.ndarray, dict[str, tuple[sp.Expr, np.ndarray]], np.ndarray | None]:
        table = dict(self.table or {})
        missing = [c for c in coords if c not in table]
        if missing:
            raise DataError(
                f"observations {self.name!r} ({self.source}): no column for coordinates {missing}; "
                f"columns are {list(table)}"
            )
        if self.weights_column is not None and self.weights_column not in table:
            raise DataError(
                f"observations {self.name!r} ({self.source}): weights column {self.weights_column!r} is "
                f"missing; columns are {list(table)}"
            )
        for c in coords:
            self._finite(table[c], f"column {c!r}")
        points = np.stack([table[c] for c in coords], axis=1)
        quantities = {}
        for col, values in table.items():
            if col in coords or col == self.weights_column:
                continue
            if col in self.observed:
                expr = self.observed[col]
            elif col in ctx.unknowns:
                expr = self._unknown(col, ctx)
            else:
                raise DataError(
                    f"observations {self.name!r} ({self.source}): column {col!r} is neither a coordinate "
                    f"{coords}, an unknown {list(ctx.unknowns)}, an observed name {list(self.observed)} "
                    f"nor the weights column"
                )
            self._finite(values, f"column {col!r}")
            quantities[col] = (expr, values)
        unused = [k for k in self.observed if k not in table]
        if unused:
            raise DataError(f"observations {self.name!r} ({self.source}): observed {unused} are not columns")
        if not quantities:
            raise DataError(f"observations {self.name!r} ({self.source}): no observed column")
        weights = None
        if self.weights_column is not None:
            weights = table[self.weights_column]
            self._positive(weights, f"column {self.weights_column!r}")
        return points, quantities, weights

    # -- checks -----------------------------------------------------------------------------------
    def _unknown(self, name: str, ctx: SymbolContext) -> sp.Expr:
        if name not in ctx.unknowns:
            raise DataError(
                f"observations {self.name!r}: {name!r} is not an unknown of the problem "
                f"({list(ctx.unknowns)})"
            )
        args = ctx.unknown_coordinates.get(name, ctx.coordinates)
        return sp.Function(name)(*args)

    def _check_names(self, cols: Mapping[str, Any], coords: list[str], what: str) -> None:
        extra = [k for k in cols if k not in coords]
        missing = [c for c in coords if c not in cols]
        if extra or missing:
            raise DataError(
                f"observations {self.name!r}: {what} name coordinates {list(cols)}; expected exactly "
                f"{coords}"
                + (f" (unknown: {extra})" if extra else "")
                + (f" (missing: {missing})" if missing else "")
            )

    def _row(self, i: int) -> str:
        if self.source:
            line = self.lines[i] if i < len(self.lines) else i + 2
            return f"line {line} of {self.source}"
        return f"row {i}"

    def _column(self, value: Any, what: str) -> np.ndarray:
        arr = _array(value)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1 or arr.shape[0] == 0:
            raise DataError(
                f"observations {self.name!r}: {what} must be a non-empty (N,) array, got {arr.shape}"
            )
        self._finite(arr, what)
        return arr

    def _same_length(self, cols: Mapping[str, np.ndarray], what: str) -> int:
        lengths = {k: len(v) for k, v in cols.items()}
        if len(set(lengths.values())) != 1:
            raise DataError(f"observations {self.name!r}: {what} columns differ in length: {lengths}")
        return next(iter(lengths.values()))

    def _finite(self, arr: np.ndarray, what: str) -> None:
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            kind = "NaN" if np.isnan(arr[i]) else "Inf"
            raise DataError(
                f"observations {self.name!r}: {what} has {kind} at {self._row(i)} "
                f"({int(bad.sum())} non-finite value(s) in all)"
            )

    def _positive(self, arr: np.ndarray, what: str) -> None:
        self._finite(arr, what)
        if (arr <= 0).any():
            i = int(np.flatnonzero(arr <= 0)[0])
            raise DataError(
                f"observations {self.name!r}: {what} must be positive, got {arr[i]} at {self._row(i)}"
            )


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"observation data must be numeric arrays, got {type(value).__name__}") from exc


def _label(expr: sp.Expr, ctx: SymbolContext) -> str:
    """``u`` for an unknown, ``u_x`` for a derivative of one, else the expression's text."""
    if isinstance(expr, AppliedUndef):
        return expr.func.__name__
    if isinstance(expr, sp.Derivative) and isinstance(expr.expr, AppliedUndef):
        orders = [0] * len(ctx.coordinates)
        for var, count in expr.variable_count:
            if var in ctx.coordinates:
                orders[ctx.coordinates.index(var)] += int(count)
        return Field(expr.expr.func.__name__, tuple(orders)).label(ctx.coordinates)
    return str(expr).replace(" ", "")


def _scale(domain: Domain) -> float:
    lo, hi = domain.bounds
    return max(1.0, *(abs(v) for v in (*lo, *hi)))
