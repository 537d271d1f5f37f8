"""The sympy -> torch compiler, the reverse-mode derivative engine and the function table.

The Taylor-mode engine, which recognizes pinnopt's networks, lives in :mod:`pinnopt.nn.taylor`.
"""

from .compiler import CompiledExpression, Env, SymbolContext, as_expression, compile_expression
from .derivatives import AutogradEngine, DerivativeEngine, DerivativePlan
from .fields import Field
from .functions import DEFAULT_FUNCTIONS, FunctionTable
from .normals import Normal, normal_derivative

__all__ = [
    "DEFAULT_FUNCTIONS",
    "AutogradEngine",
    "CompiledExpression",
    "DerivativeEngine",
    "DerivativePlan",
    "Env",
    "Field",
    "FunctionTable",
    "Normal",
    "SymbolContext",
    "as_expression",
    "compile_expression",
    "normal_derivative",
]
