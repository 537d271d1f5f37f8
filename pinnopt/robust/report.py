"""What a robust solve reports: worst cases found, their certificates, nominal vs robust objective."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..losses import Objective, PointSet
from .term import RobustTerm

log = logging.getLogger("pinnopt.robust")

CERTIFICATE_RTOL = 1e-3
"""A worst case is certified when the dense search finds nothing worse by more than this
fraction of its value (plus 1e-12 absolute)."""


@dataclass(frozen=True)
class GroupReport:
    """The worst case of one robust group, and its independent check.

    Attributes:
        name: the group's loss term name.
        terms: the problem's terms in the group.
        over: the uncertainty set searched.
        method: the inner maximizer; ``aggregate``: how candidates were combined.
        worst: the worst ``xi`` the inner maximizer found at the end; ``worst_value`` the
            group loss there.
        nominal_value: the group loss at the nominal ``xi``.
        value: the group's aggregated loss (what training minimized; the worst value for
            the hard maximum).
        certificate: the worst ``xi`` of a dense independent search (a grid for boxes of up
            to three coefficients, else many samples plus the extreme points);
            ``certificate_value`` its loss; ``certificate_points`` how many points it tried.
    """

    name: str
    terms: tuple[str, ...]
    over: str
    method: str
    aggregate: str
    worst: dict[str, float]
    worst_value: float
    nominal_value: float
    value: float
    certificate: dict[str, float]
    certificate_value: float
    certificate_points: int

    @property
    def gap(self) -> float:
        """How much worse the dense search's worst case is than the one found (<= 0: none)."""
        return self.certificate_value - self.worst_value

    @property
    def certified(self) -> bool:
        """True when the dense search found no worse ``xi`` (up to :data:`CERTIFICATE_RTOL`).

        A search is evidence, not proof: it certifies the worst case among the points tried.
        """
        return self.gap <= CERTIFICATE_RTOL * abs(self.worst_value) + 1e-12

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = asdict(self)
        out["terms"] = list(self.terms)
        out.update(gap=self.gap, certified=self.certified)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


@dataclass(frozen=True)
class RobustReport:
    """The robust part of a result.

    Attributes:
        groups: one :class:`GroupReport` per robust group.
        nominal_objective: the weighted objective with every uncertain coefficient at its
            nominal value.
        robust_objective: the weighted objective with each group at its worst case (its
            aggregate); the difference is what robustness costs this solution over the
            nominal scenario. Comparing two solves (see :func:`price_of_robustness`) gives
            the classical price of robustness.
        trained: True when training minimized the worst case; False for a nominal solve
            whose worst case was only evaluated afterwards.
    """

    groups: tuple[GroupReport, ...]
    nominal_objective: float
    robust_objective: float
    trained: bool

    @property
    def certified(self) -> bool:
        """Every group's worst case survived its dense independent search."""
        return all(g.certified for g in self.groups)

    @property
    def worst(self) -> dict[str, dict[str, float]]:
        """The worst ``xi`` per group."""
        return {g.name: g.worst for g in self.groups}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "groups": [g.as_dict() for g in self.groups],
            "nominal_objective": self.nominal_objective,
            "robust_objective": self.robust_objective,
            "trained": self.trained,
            "certified": self.certified,
        }

    def __str__(self) -> str:
        head = "robust" if self.trained else "nominal solve, worst case evaluated afterwards"
        lines = [
            f"{head}: objective nominal {self.nominal_objective:.6g}, worst case {self.robust_objective:.6g}"
        ]
        for g in self.groups:
            worst = ", ".join(f"{k}={v:.6g}" for k, v in g.worst.items())
            cert = ", ".join(f"{k}={v:.6g}" for k, v in g.certificate.items())
            lines.append(
                f"  {g.name} over {g.over} [{g.method}, {g.aggregate}]: "
                f"worst {g.worst_value:.6g} at {worst}; "
                f"nominal {g.nominal_value:.6g}; dense check ({g.certificate_points} points) "
                f"{g.certificate_value:.6g} at {cert}: {'certified' if g.certified else 'NOT certified'}"
            )
        return "\n".join(lines)


def _describe(obj: Any) -> str:
    cfg = obj.config()
    kind = next(iter(cfg.values()))
    args = ", ".join(f"{k}={v}" for k, v in list(cfg.items())[1:])
    return f"{kind}({args})"


def robust_report(
    model: nn.Module,
    objective: Objective,
    points: Mapping[str, PointSet],
    audit: Sequence[RobustTerm],
    *,
    trained: bool,
) -> RobustReport:
    """Search each group's worst case at the final model and check it densely.

    Args:
        model: the trained model.
        objective: the trained objective.
        points: its point sets.
        audit: the robust terms to report: those of the objective, or for a nominal solve
            terms built over the same problem terms for the evaluation only.
        trained: whether the objective's groups were trained robustly.
    """
    ev = objective.evaluation(model, points, create_graph=False)
    weights = objective.weights.detach().double().cpu().tolist()
    audited = {n for g in audit for n in [g.name, *(t.name for t in g.terms)]}
    plain = 0.0
    for w, t in zip(weights, objective.terms, strict=True):
        if t.name not in audited:
            plain += w * float(t.loss(ev).detach())
    weight_of = dict(zip(objective.names, weights, strict=True))
    groups = []
    nominal_total, robust_total = plain, plain
    for term in audit:
        rep = _group_report(term, ev)
        groups.append(rep)
        w = weight_of.get(term.name, 1.0)
        nominal_total += w * rep.nominal_value
        robust_total += w * rep.value
        if not rep.certified:
            log.warning(
                "robust group %s: the dense check found %.6g at %s, worse than the %.6g the inner maximizer "
                "(%s) found; the worst case is not certified (is the loss convex in xi for Vertices?)",
                rep.name,
                rep.certificate_value,
                rep.certificate,
                rep.worst_value,
                rep.method,
            )
    return RobustReport(tuple(groups), nominal_total, robust_total, trained)


def _group_report(term: RobustTerm, ev: Any) -> GroupReport:
    bound = term.evaluator.bind(ev)
    ctx = term.context(ev)
    space = term.space
    cand, ranks = term.search(ev, ctx, bound)  # ranked by the search values
    kept = cand
    if term.aggregate.hard and cand.shape[0] > term.keep:
        kept = cand[torch.topk(ranks, term.keep).indices]
    value = float(term.aggregate(bound.values(kept, "search")))
    values = ranks if term.searcher is term.evaluator else bound.values(cand, "search")
    i = int(ranks.argmax())
    worst = cand[i].double().cpu().numpy()
    nominal = ctx.tensor(space.nominal[None, :])
    nominal_value = float(bound.values(nominal, "search")[0])
    gen = torch.Generator(device=ctx.device)
    gen.manual_seed(term.seed + 104729)
    dense = np.concatenate([space.dense(term.certificate, gen), worst[None, :]])
    dense_values = bound.values(ctx.tensor(dense), "search").double().cpu().numpy()
    j = int(np.nanargmax(dense_values))
    return GroupReport(
        name=term.name,
        terms=tuple(t.name for t in term.terms),
        over=space.describe(),
        method=_describe(term.method),
        aggregate=_describe(term.aggregate),
        worst=space.as_dict(worst),
        worst_value=float(values[i]),
        nominal_value=nominal_value,
        value=value,
        certificate=space.as_dict(dense[j]),
        certificate_value=float(dense_values[j]),
        certificate_points=len(dense),
    )


def price_of_robustness(robust: Any, nominal: Any) -> dict[str, float]:
    """Compare a robust and a nominal solve of the same problem (two :class:`~pinnopt.Result`).

    Returns the nominal and worst-case objectives of both solutions, and
    ``price``: how much the robust solution gives up in the nominal scenario
    (robust's nominal objective minus nominal's), and ``protection``: how much it gains in
    the worst case (nominal's worst-case objective minus robust's).
    """
    r, n = robust.robust, nominal.robust
    if r is None or n is None:
        raise ConfigError("price_of_robustness needs two results of a problem with uncertain coefficients")
    return {
        "robust_nominal_objective": r.nominal_objective,
        "robust_worst_objective": r.robust_objective,
        "nominal_nominal_objective": n.nominal_objective,
        "nominal_worst_objective": n.robust_objective,
        "price": r.nominal_objective - n.nominal_objective,
        "protection": n.robust_objective - r.robust_objective,
    }
