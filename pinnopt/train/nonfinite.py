"""Where the objective is NaN or Inf: the terms and the points, for messages a user can act on.

The divergence guard calls :func:`describe_nonfinite` on the state it restored. When that
state itself has a non-finite loss or gradient (at initialization, a ``sqrt(u)`` or
``log(u)`` of an equation evaluated where the network is negative), lowering the learning
rate cannot help; the guard stops at once and names what is undefined, and where.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..losses import Objective, PointSet


def _kind(value: float) -> str:
    return "NaN" if math.isnan(value) else "Inf"


def _pointwise(term: object, ev: object) -> torch.Tensor | None:
    """The term's per-point values (residual, or a bound's slack), or None."""
    for method in ("residual", "slack_values"):
        fn = getattr(term, method, None)
        if callable(fn) and getattr(term, "point_set", None) is not None:
            try:
                values = fn(ev).detach()
                return values.reshape(values.shape[0], -1)
            except Exception:  # a best-effort diagnosis must not hide the real problem
                return None
    return None


def _where(term: object, ev: object, points: Mapping[str, PointSet], coordinates: Sequence[str]) -> str:
    values = _pointwise(term, ev)
    name = getattr(term, "point_set", None)
    if values is None or name not in points:
        return ""
    bad = ~torch.isfinite(values).all(dim=1)
    count = int(bad.sum())
    if not count:
        return ""
    first = int(torch.nonzero(bad)[0, 0])
    x = points[name].x[first].detach().cpu().tolist()
    labels = list(coordinates) if len(coordinates) == len(x) else [f"x{i}" for i in range(len(x))]
    at = ", ".join(f"{c}={v:.6g}" for c, v in zip(labels, x, strict=True))
    return f" at {count} of {len(values)} points of {name!r}, first at index {first} ({at})"


def describe_nonfinite(
    objective: Objective,
    model: nn.Module,
    points: Mapping[str, PointSet],
    coordinates: Sequence[str] = (),
) -> str | None:
    """Describe the non-finite terms of the objective at the current parameters.

    Returns None when every term's loss and the gradient of the total are finite; otherwise
    e.g. ``"term 'pde' is NaN at 12 of 32 points of 'interior', first at index 3 (x=-0.5)"``.
    One full evaluation and one backward pass (call it only when something went wrong).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.enable_grad():
        ev = objective.evaluation(model, points)
        losses = objective.losses(ev)
        values = losses.detach().cpu().tolist()
        parts = [
            f"term {t.name!r} is {_kind(v)}{_where(t, ev, points, coordinates)}"
            for t, v in zip(objective.terms, values, strict=True)
            if not math.isfinite(v)
        ]
        if parts or not params:
            return "; ".join(parts) or None
        for i, term in enumerate(objective.terms):
            if not losses[i].requires_grad:
                continue
            grads = torch.autograd.grad(losses[i], params, retain_graph=True, allow_unused=True)
            if not all(g is None or bool(torch.isfinite(g).all()) for g in grads):
                parts.append(
                    f"the gradient of term {term.name!r} is NaN or Inf (its loss {values[i]:.4g} is finite; "
                    f"e.g. sqrt at 0){_where(term, ev, points, coordinates)}"
                )
    return "; ".join(parts) or None
