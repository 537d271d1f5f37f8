"""Why training stopped: an enum whose values are readable hints."""

from __future__ import annotations

import enum


class StopReason(str, enum.Enum):
    """The reason a training run (or one phase of it) ended."""

    STEP_BUDGET = "completed the step budget"
    GRADIENT_TOLERANCE = (
        "converged (L-BFGS, SSBFGS, Levenberg-Marquardt): the largest gradient component fell below "
        "tolerance_grad"
    )
    LOSS_CHANGE_TOLERANCE = (
        "L-BFGS converged: the relative loss decrease of an iteration fell below tolerance_change"
    )
    STEP_TOLERANCE = (
        "converged (L-BFGS, SSBFGS, Levenberg-Marquardt): the parameter update fell below tolerance_step"
    )
    LINE_SEARCH_FAILED = (
        "L-BFGS stopped: the line search found no decrease, even along steepest descent, although "
        "the predicted decrease was above the loss's round-off (a non-smooth or noisy loss, or an "
        "objective changed during the phase)"
    )
    ROUND_OFF = (
        "L-BFGS converged: the loss is at its floating-point round-off (the line search's smallest "
        "steps predicted decreases below the rounding error of the loss)"
    )
    LINE_SEARCH_NOT_FINITE = (
        "L-BFGS stopped: the line search met NaN or Inf losses along the search direction and no "
        "finite decrease (the loss is undefined just past the current point, e.g. sqrt or log of a "
        "negative value); the current, finite state is kept"
    )
    DAMPING_LIMIT = (
        "Levenberg-Marquardt stopped: the damping rose past damping_max without a decrease of the "
        "loss (a minimum of the sum of squares in this precision, or a Gauss-Newton step that failed)"
    )
    DIVERGED = (
        "the loss or its gradient became NaN or Inf and the divergence guard ran out of retries "
        "(each retry restores the last finite state and lowers the learning rate); the last finite "
        "state was restored (lower the learning rate, clip gradients or check the problem's scaling)"
    )
    NOT_FINITE = (
        "the loss or its gradient is NaN or Inf at the last finite state itself (at initialization, or "
        "at the restored check point), so lowering the learning rate cannot help: a term of the "
        "problem is undefined there (sqrt or log of a negative value, a division by zero); the "
        "detail names the terms and the points"
    )
    INTERRUPTED = "interrupted by the user (Ctrl-C); the last completed step is kept"
    COST_THRESHOLD = "the cost fell below the requested threshold (CostThreshold)"
    CONVERGED = "the moving average of the cost stopped changing (ConvergenceThreshold)"
    METRIC_THRESHOLD = "the evaluation metric fell below the requested threshold (MetricThreshold)"
    MAX_STEPS = "reached the iteration limit (MaxSteps)"
    TIME_LIMIT = "reached the wall-time limit (TimeLimit)"
    EARLY_STOPPING = "no improvement within the patience window (EarlyStopping); the best model was restored"

    def __str__(self) -> str:
        return self.value

    @property
    def converged(self) -> bool:
        """True for the reasons that mean a tolerance or threshold was met."""
        return self in {
            StopReason.GRADIENT_TOLERANCE,
            StopReason.LOSS_CHANGE_TOLERANCE,
            StopReason.STEP_TOLERANCE,
            StopReason.ROUND_OFF,
            StopReason.COST_THRESHOLD,
            StopReason.CONVERGED,
            StopReason.METRIC_THRESHOLD,
        }
