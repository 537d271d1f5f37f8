"""Prediction: points in, fields out (:meth:`pinnopt.Result.predict`), and what it returns.

:func:`as_points` checks the points, :func:`count_outside` checks them against the domain,
:func:`evaluate_fields` evaluates the unknowns and requested derivatives in chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp
import torch
from torch import nn

from .domain import Domain
from .errors import DataError
from .symbolic import AutogradEngine, DerivativePlan, Env, Field, SymbolContext, compile_expression
from .symbolic.names import field_name

log = logging.getLogger("pinnopt")


class Prediction(dict):  # type: ignore[type-arg]
    """What :meth:`Result.predict` returns: ``{name: (N,) float64 array}``.

    A plain dict keyed by unknown names and readable derivative names (``u_x``,
    ``theta_tt``); the requested sympy expression (``u.diff(x)``) and its ``str`` also work
    as keys.

    Attributes:
        outside: how many of the points lie outside the problem's domain (a warning was
            logged when any did).
    """

    def __init__(
        self, values: Mapping[str, np.ndarray], aliases: Mapping[Any, str], outside: int = 0
    ) -> None:
        super().__init__(values)
        self.aliases = dict(aliases)
        self.outside = outside

    def __missing__(self, key: Any) -> np.ndarray:
        try:
            name = self.aliases[key]
        except (KeyError, TypeError):
            raise KeyError(key) from None
        return self[name]

    def __contains__(self, key: object) -> bool:
        try:
            return super().__contains__(key) or key in self.aliases
        except TypeError:
            return False

    def get(self, key: Any, default: Any = None) -> Any:
        """``self[key]`` (any accepted key), or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default


def count_outside(
    x: torch.Tensor, domain: Domain | None, bounds: Sequence[Sequence[float]] | None = None
) -> int:
    """How many of the ``(N, dim)`` points ``x`` lie outside ``domain`` (else outside the box
    ``bounds = (lower, upper)``; 0 when neither is known); logs a warning when any do.

    Points on the boundary count as inside (relative tolerance 1e-9 of the domain's extent).
    """
    pts = x.detach().cpu().double()
    if domain is not None:
        lower, upper = domain.bounds
        scale = max([1.0, *(abs(float(v)) for v in (*lower, *upper))])
        n = int((~domain.contains(pts, tol=1e-9 * scale)).sum())
        where = "the domain"
    elif bounds:
        lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in bounds)
        tol = 1e-9 * max(1.0, float(torch.cat([lo.abs(), hi.abs()]).max()))
        n = int((~((pts >= lo - tol) & (pts <= hi + tol)).all(dim=1)).sum())
        where = "the domain's bounding box"
    else:
        return 0
    if n:
        log.warning(
            "predict: %d of %d points lie outside %s; the network extrapolates there", n, len(pts), where
        )
    return n


def numeric_array(value: Any, what: str, caller: str = "predict") -> np.ndarray:
    """``value`` as a float64 array, or a DataError naming ``caller`` and ``what``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{caller}: {what} must be a numeric array of real numbers: {exc}") from None


def as_points(
    points: Any,
    coordinates: Sequence[str],
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    *,
    caller: str = "predict",
) -> torch.Tensor:
    """``points`` (an ``(N, dim)`` array or ``{coordinate: values}``) as a checked tensor;
    errors name ``caller``."""
    if isinstance(points, Mapping):
        missing = [c for c in coordinates if c not in {str(k) for k in points}]
        if missing:
            raise DataError(f"{caller}: points miss coordinates {missing}")
        cols = {str(k): numeric_array(v, f"points[{k!r}]", caller).ravel() for k, v in points.items()}
        try:
            pts = np.stack(np.broadcast_arrays(*[cols[c] for c in coordinates]), axis=1)
        except ValueError as exc:
            raise DataError(f"{caller}: the coordinate columns do not broadcast together: {exc}") from None
    else:
        pts = numeric_array(points, "points", caller)
        if pts.ndim == 1 and len(coordinates) == 1:
            pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] != len(coordinates):
        raise DataError(
            f"{caller}: points have shape {pts.shape}; expected (N, {len(coordinates)}) "
            f"for coordinates {list(coordinates)}"
        )
    if not np.isfinite(pts).all():
        raise DataError(f"{caller}: points contain NaN or Inf")
    return torch.as_tensor(pts, dtype=dtype, device=device)


def evaluate_fields(
    model: nn.Module,
    x: torch.Tensor,
    ctx: SymbolContext,
    unknowns: Sequence[str],
    derivatives: Sequence[Any],
    batch_size: int,
    *,
    outside: int = 0,
) -> Prediction:
    """The unknowns and the expressions ``derivatives`` at the points ``x``, ``batch_size``
    points per model call, in eval mode (see :meth:`pinnopt.Result.predict`)."""
    dim = len(ctx.coordinates)
    if isinstance(derivatives, (str, sp.Basic)) or not isinstance(derivatives, Iterable):
        raise DataError(
            f"predict(derivatives={derivatives!r}): expected a list of sympy expressions, e.g. [u.diff(x)]"
        )
    exprs: dict[str, Any] = {}
    aliases: dict[Any, str] = {}
    for e in derivatives:
        expr = sp.sympify(e) if isinstance(e, sp.Basic) else e
        key = field_name(expr, ctx.coordinates) if isinstance(expr, sp.Basic) else None
        key = key or str(e)
        exprs[key] = compile_expression(e, ctx, what="derivative", require_unknown=False)
        if isinstance(expr, sp.Basic):
            aliases[expr] = key
        aliases[str(e)] = key

    wanted = {Field.value(u, dim) for u in unknowns}
    for c in exprs.values():
        wanted |= c.fields
    plan = DerivativePlan.build(wanted)
    engine = AutogradEngine()
    out: dict[str, list[np.ndarray]] = {k: [] for k in [*unknowns, *exprs]}
    was_training = model.training
    model.eval()
    try:
        for chunk in torch.split(x, batch_size):
            with torch.set_grad_enabled(bool(plan.steps)):
                fields = engine.evaluate(model, chunk, plan, unknowns, create_graph=False)
                env = Env(chunk.unbind(1), fields, model.scalars())
                for u in unknowns:
                    f = fields[Field.value(u, dim)]
                    out[u].append(f.detach().cpu().double().numpy())
                for name, c in exprs.items():
                    out[name].append(c(env).detach().cpu().double().numpy())
    finally:
        model.train(was_training)
    return Prediction({k: np.concatenate(v) for k, v in out.items()}, aliases, outside)
