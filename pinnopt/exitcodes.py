"""The exit statuses of the ``pinnopt`` command, one table for ``--help`` and the docs."""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EXIT_TABLE: tuple[tuple[int, str], ...] = (
    (
        EXIT_OK,
        "completed: the step budget, a time limit, MaxSteps, a tolerance or threshold (gradient, "
        "loss change, step size, cost, convergence, metric), early stopping, an L-BFGS line "
        "search that found no decrease at a converged point (round-off), or one that found no "
        "decrease elsewhere (the report says so), a Levenberg-Marquardt damping limit",
    ),
    (
        EXIT_FAILED,
        "a failed check (`pinnopt check`, `pinnopt solve --check`); a sweep with no completed trial",
    ),
    (
        EXIT_ERROR,
        "bad usage or input: unknown problem or option, unreadable file or run folder, a run "
        "folder holding another run, a run folder in use by another process",
    ),
    (
        EXIT_DIVERGED,
        "diverged: NaN/Inf after the divergence guard's retries, at the initial network, or at "
        "every L-BFGS trial point (report marked diverged)",
    ),
    (
        EXIT_INTERRUPTED,
        "interrupted (Ctrl-C): checkpoint written, report marked interrupted; continue with --resume",
    ),
)
"""The exit statuses of ``pinnopt`` (printed by ``pinnopt --help``, listed in docs/training.md)."""

EXIT_CODES: dict[str, int] = {
    "STEP_BUDGET": EXIT_OK,
    "GRADIENT_TOLERANCE": EXIT_OK,
    "LOSS_CHANGE_TOLERANCE": EXIT_OK,
    "STEP_TOLERANCE": EXIT_OK,
    "LINE_SEARCH_FAILED": EXIT_OK,
    "ROUND_OFF": EXIT_OK,
    "COST_THRESHOLD": EXIT_OK,
    "CONVERGED": EXIT_OK,
    "METRIC_THRESHOLD": EXIT_OK,
    "MAX_STEPS": EXIT_OK,
    "TIME_LIMIT": EXIT_OK,
    "EARLY_STOPPING": EXIT_OK,
    "DAMPING_LIMIT": EXIT_OK,
    "DIVERGED": EXIT_DIVERGED,
    "NOT_FINITE": EXIT_DIVERGED,
    "LINE_SEARCH_NOT_FINITE": EXIT_DIVERGED,
    "INTERRUPTED": EXIT_INTERRUPTED,
}
"""The exit status of ``pinnopt solve`` for each ``StopReason`` (by name)."""


def exit_code(stop_reason: Any) -> int:
    """The exit status of a solve that stopped for ``stop_reason`` (a StopReason or its name)."""
    name = getattr(stop_reason, "name", stop_reason)
    if name not in EXIT_CODES:
        raise ConfigError(f"no exit status for stop reason {name!r}")
    return EXIT_CODES[name]


def exit_epilog() -> str:
    """The exit-status table as the epilog of `pinnopt --help`."""
    lines = ["exit status:"]
    for code, text in EXIT_TABLE:
        lines.append(f"  {code:<4} {text}")
    return "\n".join(lines)
