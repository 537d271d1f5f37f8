"""Barrier settings: defaults and the limits that keep a barrier finite in float32."""

from __future__ import annotations

import math

from ..errors import ProblemError

DEFAULT_CAP = 20.0
"""Default exponent cap of barriers: ``exp(20) = 4.9e8``; past it the exponential continues linearly."""

DEFAULT_FLOOR = 1e-9
"""Default slack below which the log barrier continues as a quadratic."""

MAX_CAP = 80.0
"""Largest exponent cap: ``exp(80) = 5.5e34`` is finite in float32 (``exp(88.7)`` is not)."""

MAX_SCALE = 1e30
"""Largest barrier slope: ``m * exp(cap)`` (exponential) or ``1 / (m * floor**2)`` (log).

Below it the barrier and its gradient stay finite in float32 for violations up to about 1e8.
"""


def check_barrier_settings(method: str, m: float, cap: float, floor: float, label: str) -> None:
    """Refuse barrier settings whose value or slope would overflow in float32 (and so in float64).

    Rules: ``m``, ``cap`` and ``floor`` positive and finite; ``cap <= 80``; ``m <= 1e30``;
    ``floor <= 1e30``; exponential barrier ``m * exp(cap) <= 1e30``; log barrier
    ``1 / (m * floor**2) <= 1e30`` (compared without dividing, so a floor as small as
    ``1e-300`` is refused by name, not with a ``ZeroDivisionError``).

    Raises:
        ProblemError: naming ``label`` and the setting, with the rule it breaks.
    """
    m, cap, floor = float(m), float(cap), float(floor)
    for name, value in (("m", m), ("cap", cap), ("floor", floor)):
        if not (math.isfinite(value) and value > 0):
            raise ProblemError(f"{label}: {name}={value:g}; expected a positive finite number")
    if cap > MAX_CAP:
        raise ProblemError(
            f"{label}: cap={cap:g}; expected cap <= {MAX_CAP:g} so that exp(cap) is finite in float32 "
            "(past the cap the barrier continues linearly; a larger cap only risks overflow)"
        )
    if m > MAX_SCALE:
        raise ProblemError(f"{label}: m={m:g}; expected m <= {MAX_SCALE:g} (finite in float32)")
    if floor > MAX_SCALE:
        raise ProblemError(f"{label}: floor={floor:g}; expected floor <= {MAX_SCALE:g} (finite in float32)")
    if method == "barrier" and m * math.exp(cap) > MAX_SCALE:
        raise ProblemError(
            f"{label}: m={m:g} with cap={cap:g} gives a barrier slope m * exp(cap) = "
            f"{m * math.exp(cap):.3g}, above {MAX_SCALE:g}: the barrier would overflow float32 for "
            "moderate violations; lower m or cap"
        )
    # 1 / (m * floor^2) <= MAX_SCALE, compared in logarithms: m * floor^2 underflows to 0 for
    # a tiny floor (floor=1e-300), and the curvature then overflows a float
    log_curvature = -(math.log10(m) + 2.0 * math.log10(floor))
    if method == "log" and log_curvature > math.log10(MAX_SCALE):
        least = math.sqrt(1.0 / (m * MAX_SCALE))  # m <= MAX_SCALE > 0: finite and positive
        raise ProblemError(
            f"{label}: m={m:g} with floor={floor:g} gives a log-barrier curvature "
            f"1 / (m * floor^2) = {_power_of_ten(log_curvature)}, above {MAX_SCALE:g}: the barrier "
            f"would overflow float32 for moderate violations; expected floor >= {least:.3g} "
            "for this m (or raise m)"
        )


def _power_of_ten(log10: float) -> str:
    """``10 ** log10`` written like ``%.3g``, also past the largest float (``1e+320``)."""
    exponent = math.floor(log10)
    mantissa = 10.0 ** (log10 - exponent)
    if mantissa >= 9.995:  # rounds up to 10.0
        mantissa, exponent = 1.0, exponent + 1
    return f"{mantissa:.3g}e+{exponent:02d}" if exponent >= 0 else f"{mantissa:.3g}e-{-exponent:02d}"
