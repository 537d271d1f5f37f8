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

from .adaptive import RAD, RAR, Resample
from .conditions import AtPoints, Dirichlet, Initial, InitialRate, Neumann, Periodic, Robin
from .data import Observations
from .domain import (
    Ball,
    Box,
    Collocation,
    Difference,
    Disk,
    Domain,
    Grid,
    Halton,
    Intersection,
    Interval,
    LatinHypercube,
    Points,
    Polygon,
    Product,
    Region,
    Sampler,
    Side,
    Sobol,
    Uniform,
    Union,
)
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
from .inverse import ParameterTrace
from .nn import MLP, PINN
from .nn.constraints import HardConstraints
from .problem import On, Parameter, Problem, interior
from .result import Result
from .solve import solve
from .symbolic import DEFAULT_FUNCTIONS, FunctionTable, Normal, normal_derivative
from .train import LBFGS, SGD, Adam, StopReason

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_FUNCTIONS",
    "LBFGS",
    "MLP",
    "PINN",
    "RAD",
    "RAR",
    "SGD",
    "Adam",
    "AtPoints",
    "Ball",
    "Box",
    "CheckpointError",
    "Collocation",
    "CompileError",
    "ConfigError",
    "DataError",
    "DerivativeError",
    "Difference",
    "Dirichlet",
    "Disk",
    "Domain",
    "FunctionTable",
    "Grid",
    "Halton",
    "HardConstraints",
    "Initial",
    "InitialRate",
    "Intersection",
    "Interval",
    "LatinHypercube",
    "Neumann",
    "NoUnknownError",
    "Normal",
    "Observations",
    "On",
    "Parameter",
    "ParameterTrace",
    "Periodic",
    "PinnoptError",
    "PinnoptWarning",
    "Points",
    "Polygon",
    "Problem",
    "ProblemError",
    "Product",
    "Region",
    "Resample",
    "Result",
    "Robin",
    "Sampler",
    "Side",
    "Sobol",
    "StopReason",
    "Uniform",
    "Union",
    "UnknownArgumentsError",
    "UnknownSymbolError",
    "UnsupportedFunctionError",
    "ValidationError",
    "__version__",
    "interior",
    "normal_derivative",
    "solve",
]
