"""The outcome of :func:`pinnopt.validate.check.check_problem`: one row per term, and its table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TermCheck:
    """The check of one equation or condition.

    Attributes:
        name, kind, region: the term (as in ``problem.terms``).
        method: ``"symbolic"``, ``"autograd"``, ``"finite differences"`` or ``"skipped"``.
        passed: True, False, or None when skipped.
        max_abs: the largest absolute residual on the sample points (None if not evaluated).
        rel: ``max_abs / scale`` (see the module docstring).
        n_points: sample points used (0 for a symbolic proof).
        detail: the simplified symbolic residual when it is not zero, or why it was skipped.
    """

    name: str
    kind: str
    region: str
    method: str
    passed: bool | None
    max_abs: float | None = None
    rel: float | None = None
    n_points: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`~pinnopt.validate.check_problem`: one :class:`TermCheck` per term.

    ``reference`` is ``"exact"`` (a sympy solution) or ``"reference"`` (a numerical one).
    """

    problem: str
    terms: tuple[TermCheck, ...]
    rtol: Mapping[str, float] = field(default_factory=dict)
    reference: str = "exact"

    @property
    def passed(self) -> bool:
        """True when no term failed (skipped terms do not fail)."""
        return all(t.passed is not False for t in self.terms)

    @property
    def failures(self) -> list[TermCheck]:
        """The terms that do not vanish on the exact solution."""
        return [t for t in self.terms if t.passed is False]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "problem": self.problem,
            "passed": self.passed,
            "rtol": dict(self.rtol),
            "reference": self.reference,
            "terms": [t.to_dict() for t in self.terms],
        }

    def __str__(self) -> str:
        word = self.reference
        head = f"check of {self.problem!r} against its {word} solution"
        lines = [
            head,
            f"  {'term':<14} {'region':<10} {'method':<19} {'status':<7} {'max |r|':>10} {'rel':>10}",
        ]
        for t in self.terms:
            status = {True: "ok", False: "FAIL", None: "skip"}[t.passed]
            lines.append(
                f"  {t.name:<14} {t.region:<10} {t.method:<19} {status:<7} "
                f"{_num(t.max_abs):>10} {_num(t.rel):>10}"
            )
            if t.detail and t.method != "symbolic":
                lines.append(f"      {t.detail}")
        n_fail = len(self.failures)
        lines.append(
            f"  all equations and conditions hold on the {word} solution"
            if not n_fail
            else f"  {n_fail} of {len(self.terms)} terms do not vanish on the {word} solution: "
            f"a typo in the problem or in the {word} solution"
        )
        return "\n".join(lines)


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2e}"
