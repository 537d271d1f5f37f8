"""Several point sets through one fused Taylor call.

The networks Taylor mode recognizes are pointwise (row ``i`` of the output depends on row
``i`` of the input only), so point sets can be concatenated and evaluated in one call without
changing any field. :func:`fused_sets` groups the sets of one evaluation:

- sets whose plans carry the same derivative channels (order <= 4) share one fused call;
- sets that need only values ride along in the largest such call as value-only rows (they
  take part in the value channel only), or, when no set needs derivatives, share one plain
  forward call;
- everything else (orders > 4, points that require gradients) is returned to the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from ...symbolic.derivatives import DerivativePlan
from ...symbolic.fields import Field
from .fused import fused_taylor
from .fused_kernels import kernel_for
from .fused_layout import FusedLayout
from .plan import TaylorPlan

Request = tuple[torch.Tensor, DerivativePlan]


@dataclass(frozen=True)
class PlanChannels:
    """What the fused path needs of one derivative plan (computed once per plan and dimension).

    Attributes:
        plan: the channel plan (lower closure of the wanted multi-indices).
        layout: its fused layout, or None when it needs orders above the fused node's.
        fields: every field of the derivative plan with its channel (0: the value).
    """

    plan: TaylorPlan
    layout: FusedLayout | None
    fields: tuple[tuple[Field, int], ...]

    @staticmethod
    def build(plan: DerivativePlan, tp: TaylorPlan) -> PlanChannels:
        fields = tuple((f, tp.position[f.orders]) for f in sorted(plan.wanted | plan.values, key=repr))
        return PlanChannels(tp, FusedLayout.from_plan(tp), fields)


def _cat(xs: Sequence[torch.Tensor]) -> torch.Tensor:
    return xs[0] if len(xs) == 1 else torch.cat(list(xs))


def fused_sets(
    view: object,
    model: torch.nn.Module,
    requests: Mapping[str, Request],
    unknowns: Sequence[str],
    channels: Callable[[DerivativePlan, int], PlanChannels],
    *,
    create_graph: bool,
) -> tuple[dict[str, dict[Field, torch.Tensor]], dict[str, Request]]:
    """Evaluate what can be fused; return ``(fields by set, requests left to the caller)``.

    ``view`` is the :class:`~pinnopt.nn.taylor.engine.MLPView` of ``model`` (at least one
    hidden layer); ``channels`` returns the (cached) :class:`PlanChannels` of a plan.
    """
    groups: dict[tuple, tuple[FusedLayout, list[str]]] = {}
    info: dict[str, PlanChannels] = {}
    values: list[str] = []
    rest: dict[str, Request] = {}
    for name, (x, plan) in requests.items():
        if x.requires_grad:
            rest[name] = (x, plan)
        elif not plan.steps:
            values.append(name)
        else:
            pc = info[name] = channels(plan, x.shape[1])
            if pc.layout is None:
                rest[name] = (x, plan)
            else:
                groups.setdefault(pc.plan.indices, (pc.layout, []))[1].append(name)
    out: dict[str, dict[Field, torch.Tensor]] = {}
    ordered = sorted(groups.values(), key=lambda g: -sum(requests[n][0].shape[0] for n in g[1]))
    with torch.set_grad_enabled(create_graph and torch.is_grad_enabled()):
        for k, (layout, names) in enumerate(ordered):
            riders = values if k == 0 else []
            sizes = [requests[n][0].shape[0] for n in names + riders]
            nd = sum(sizes[: len(names)])
            out_rows = fused_taylor(
                view.linears,  # type: ignore[attr-defined]
                kernel_for(view.rule),  # type: ignore[attr-defined]
                layout,
                view.center,  # type: ignore[attr-defined]
                view.inv_half_width,  # type: ignore[attr-defined]
                _cat([requests[n][0] for n in names + riders]),
                nd,
                view.embedding,  # type: ignore[attr-defined]
                info[names[0]].plan.indices[1:],  # the channels' multi-indices (value first)
            )
            # One split of each output row into (set, channel) blocks: views, one backward node.
            blocks = _rows(out_rows, sizes + sizes[: len(names)] * layout.n_channels)
            for s, n in enumerate(names):
                fields = {}
                for f, c in info[n].fields:
                    block = s if c == 0 else len(sizes) + (c - 1) * len(names) + s
                    fields[f] = blocks[block][unknowns.index(f.unknown)]
                out[n] = fields
            for s, n in enumerate(riders, len(names)):
                out[n] = {f: blocks[s][unknowns.index(f.unknown)] for f in requests[n][1].values}
        if values and not ordered:
            v_parts = _columns(
                model(_cat([requests[n][0] for n in values])), [requests[n][0].shape[0] for n in values]
            )
            for s, n in enumerate(values):
                out[n] = {f: v_parts[s][unknowns.index(f.unknown)] for f in requests[n][1].values}
    return out, rest


def _rows(t: torch.Tensor, sizes: Sequence[int]) -> list[tuple[torch.Tensor, ...]]:
    """A feature-major ``(out, R)`` output split into column blocks of ``sizes``, each block as
    its ``out`` rows (views)."""
    rows = t.unbind(0) if t.shape[0] > 1 else (t.view(-1),)
    parts = [r.split(list(sizes)) if len(sizes) > 1 else (r,) for r in rows]
    return [tuple(p[s] for p in parts) for s in range(len(sizes))]


def _columns(t: torch.Tensor, sizes: Sequence[int]) -> list[tuple[torch.Tensor, ...]]:
    """Rows split into blocks of ``sizes``, each block as its columns (views: a single column
    is a reshape, whose backward is a reshape too)."""
    blocks = t.split(list(sizes)) if len(sizes) > 1 else (t,)
    if t.shape[1] == 1:
        return [(b.view(-1),) for b in blocks]
    return [b.unbind(1) for b in blocks]
