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
from .robust import (
    PGA,
    Box,
    Budget,
    CVaR,
    Ellipsoid,
    Grid,
    LogSumExp,
    Max,
    Mean,
    Parametric,
    Robust,
    Sampling,
    Scenarios,
    Uncertain,
    Vertices,
)
from .solve import solve
from .symbolic import DEFAULT_FUNCTIONS, FunctionTable
from .train import LBFGS, SGD, Adam, StopReason

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_FUNCTIONS",
    "LBFGS",
    "MLP",
    "PGA",
    "PINN",
    "SGD",
    "Adam",
    "Box",
    "Budget",
    "CVaR",
    "CheckpointError",
    "Collocation",
    "CompileError",
    "ConfigError",
    "DataError",
    "DerivativeError",
    "Domain",
    "Ellipsoid",
    "FunctionTable",
    "Grid",
    "Interval",
    "LogSumExp",
    "Max",
    "Mean",
    "NoUnknownError",
    "On",
    "Parameter",
    "Parametric",
    "PinnoptError",
    "PinnoptWarning",
    "Points",
    "Problem",
    "ProblemError",
    "Product",
    "Region",
    "Result",
    "Robust",
    "Sampling",
    "Scenarios",
    "StopReason",
    "Uncertain",
    "UnknownArgumentsError",
    "UnknownSymbolError",
    "UnsupportedFunctionError",
    "ValidationError",
    "Vertices",
    "__version__",
    "interior",
    "solve",
]
