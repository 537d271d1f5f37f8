"""The sympy -> torch compiler, the derivative engines and the function table."""

from .compiler import CompiledExpression, Env, SymbolContext, as_expression, compile_expression
from .derivatives import AutogradEngine, DerivativeEngine, DerivativePlan
from .fields import Field
from .functions import DEFAULT_FUNCTIONS, FunctionTable
from .normals import Normal, normal_derivative
from .taylor import AutoEngine, TaylorEngine

__all__ = [
    "DEFAULT_FUNCTIONS",
    "AutoEngine",
    "AutogradEngine",
    "CompiledExpression",
    "DerivativeEngine",
    "DerivativePlan",
    "Env",
    "Field",
    "FunctionTable",
    "Normal",
    "SymbolContext",
    "TaylorEngine",
    "as_expression",
    "compile_expression",
    "normal_derivative",
]
