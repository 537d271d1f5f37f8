"""pinnopt: physics-informed, constrained optimization of sympy-declared problems.

Declare a problem with sympy, solve it, validate it against a known solution::

    import sympy as sp
    import pinnopt as po

    x = sp.Symbol("x")
    u = sp.Function("u")(x)
    problem = po.Problem(
        domain=po.Interval(x, -1, 1),
        equations=[-u.diff(x, 2) - sp.pi**2 * sp.sin(sp.pi * x)],
        conditions=[po.On(sp.Eq(x, -1), u), po.On(sp.Eq(x, 1), u)],
        exact=sp.sin(sp.pi * x),
    )
    result = po.solve(problem)
    print(result.validate())
"""

from .domain import Domain, Interval, Points, Product, Region
from .domain.sampling import Collocation
from .errors import (
    CheckpointError,
    CompileError,
    ConfigError,
    DataError,
    DerivativeError,
    NoUnknownError,
    PinnoptError,
    PinnoptWarning,
    ProblemError,
    UnknownArgumentsError,
    UnknownSymbolError,
    UnsupportedFunctionError,
    ValidationError,
)
from .nn import MLP, PINN
from .problem import On, Parameter, Problem, interior
from .result import Result
from .solve import solve
from .symbolic import DEFAULT_FUNCTIONS, AutoEngine, AutogradEngine, FunctionTable, TaylorEngine
from .train import LBFGS, SGD, Adam, StopReason

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_FUNCTIONS",
    "LBFGS",
    "MLP",
    "PINN",
    "SGD",
    "Adam",
    "AutoEngine",
    "AutogradEngine",
    "CheckpointError",
    "Collocation",
    "CompileError",
    "ConfigError",
    "DataError",
    "DerivativeError",
    "Domain",
    "FunctionTable",
    "Interval",
    "NoUnknownError",
    "On",
    "Parameter",
    "PinnoptError",
    "PinnoptWarning",
    "Points",
    "Problem",
    "ProblemError",
    "Product",
    "Region",
    "Result",
    "StopReason",
    "TaylorEngine",
    "UnknownArgumentsError",
    "UnknownSymbolError",
    "UnsupportedFunctionError",
    "ValidationError",
    "__version__",
    "interior",
    "solve",
]
