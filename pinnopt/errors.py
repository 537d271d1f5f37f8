"""Exceptions and warnings raised by pinnopt.

Every error a user can cause derives from :class:`PinnoptError`, and also from the
built-in class that describes it best (``ValueError`` or ``TypeError``), so existing
``except ValueError`` handlers keep working. Messages name the offending input and say
what was expected.
"""

from __future__ import annotations


class PinnoptError(Exception):
    """Base class of every exception raised by pinnopt for bad user input or failed runs."""


class ProblemError(PinnoptError, ValueError):
    """A declared problem is inconsistent (domain, equations, conditions, exact solution)."""


class CompileError(PinnoptError, ValueError):
    """A sympy expression cannot be compiled to a torch residual."""


class UnknownSymbolError(CompileError):
    """An expression uses a symbol that is neither a coordinate, a parameter nor a constant."""


class UnknownArgumentsError(CompileError):
    """An unknown function is applied to arguments other than the domain's coordinates."""


class DerivativeError(CompileError):
    """A derivative is taken with respect to something that is not a coordinate."""


class UnsupportedFunctionError(CompileError, TypeError):
    """An expression uses a function with no entry in the sympy -> torch function table."""


class NoUnknownError(CompileError):
    """An equation or condition does not involve any unknown function."""


class NoParameterError(ProblemError):
    """A loss to minimize over the parameters (``po.Minimize``) involves no trainable parameter."""


class UnusedSymbolError(ProblemError):
    """A declared uncertain coefficient appears in no loss, equation, condition or bound."""


class DataError(PinnoptError, ValueError):
    """Observation data or evaluation points are malformed (NaN, wrong shape, outside the domain)."""


class ConfigError(PinnoptError, ValueError):
    """A solver, model or trainer option has an invalid value."""


class ValidationError(PinnoptError, ValueError):
    """Validation was asked for but cannot be done (for example, no exact solution)."""


class CheckpointError(PinnoptError, ValueError):
    """A saved model or checkpoint is missing, corrupt or of an unknown format."""


class PinnoptWarning(UserWarning):
    """Warnings about questionable but allowed choices (zero initialization, dominant barrier)."""


def as_number(value: object, what: str, error: type[PinnoptError] = ConfigError) -> float:
    """``float(value)`` for a real number (not a bool or a string), else ``error`` naming ``what``.

    Finiteness and sign are left to the caller, whose message states the range expected.
    """
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise error(f"{what}: expected a number, got {value!r} ({type(value).__name__})")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(f"{what}: expected a real number, got {value!r} ({type(value).__name__})") from exc
