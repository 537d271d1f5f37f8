"""The glue :func:`pinnopt.solve` uses: resolve groups, build terms, report after training."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from torch import nn

from ..errors import ConfigError
from ..losses import Objective, PointSet, ResidualTerm, Term
from ..losses.constraint_terms import ScalarTerm
from ..robust.parametric import is_parametric
from ..robust.report import RobustReport, robust_report
from ..robust.spec import Group, resolve, robust_terms
from ..robust.term import RobustTerm

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem

log = logging.getLogger("pinnopt.robust")


def groups_for(problem: Problem, robust: Any, model: nn.Module) -> list[Group]:
    """The robust groups of a solve of ``problem`` with ``model``
    (see :func:`pinnopt.robust.spec.resolve`)."""
    if is_parametric(model) and problem.uncertainty is None:
        raise ConfigError("a parametric model needs uncertain coefficients in the problem")
    return resolve(problem, robust, parametric=is_parametric(model))


def build_terms(
    problem: Problem,
    terms: Sequence[Term],
    groups: Sequence[Group],
    model: nn.Module,
) -> list[Term]:
    """The objective's terms: groups wrapped, other uncertain-reading terms at nominal values."""
    return robust_terms(problem, terms, groups, parametric=is_parametric(model))


def summarize(
    problem: Problem,
    model: nn.Module,
    objective: Objective,
    points: Mapping[str, PointSet],
    groups: Sequence[Group],
) -> RobustReport | None:
    """The :class:`RobustReport` of a finished solve (None when nothing is uncertain).

    A nominal solve (no groups) is audited with the default worst-case group, so its
    report shows how the nominal solution fares over the set.
    """
    if problem.uncertainty is None:
        return None
    audit = [t for t in objective.terms if isinstance(t, RobustTerm)]
    trained = bool(audit)
    if not audit:
        try:
            default = resolve(problem, True, parametric=is_parametric(model))
        except ConfigError as exc:
            log.info("no worst-case audit of the nominal solve: %s", exc)
            return None
        base: list[Term] = [
            ResidualTerm(
                s.name, s.region.name, s.expr, s.weight, target=s.target, point_weights=s.point_weights
            )
            for s in problem.terms
        ]
        base += [ScalarTerm(c.name, c.compiled, c.weight) for c in problem.losses]
        audit = [
            t
            for t in robust_terms(problem, base, default, parametric=is_parametric(model))
            if isinstance(t, RobustTerm)
        ]
    return robust_report(model, objective, points, audit, trained=trained)
