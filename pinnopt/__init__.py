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

from .constraints import (
    L1,
    L2,
    Bound,
    Continuation,
    Energy,
    Equality,
    FeasibilityReport,
    ParameterFit,
    Range,
    between,
    feasibility,
    fit_parameters,
)
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
from .losses import PointSet
from .nn import MLP, PINN, FourierFeatures, ModelSpec, ModifiedMLP, ResidualMLP, init
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
from .symbolic import DEFAULT_FUNCTIONS, AutoEngine, AutogradEngine, FunctionTable, TaylorEngine
from .train import (
    LBFGS,
    SGD,
    Adam,
    AdamW,
    Callback,
    Checkpoint,
    ConvergenceThreshold,
    CosineDecay,
    CostThreshold,
    DivergenceGuard,
    EarlyStopping,
    ExponentialDecay,
    FullBatch,
    MaxSteps,
    Metric,
    MetricThreshold,
    MiniBatch,
    Momentum,
    ReduceOnPlateau,
    StepDecay,
    StopReason,
    TimeLimit,
    Warmup,
)
from .train.bagging import Bagging, bagging
from .validate.check import CheckReport, check_problem
from .validate.gradcheck import GradCheckReport, gradient_check
from .validate.reference import ReferenceSolution
from .validate.trajectory import ParameterRecorder

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_FUNCTIONS",
    "L1",
    "L2",
    "LBFGS",
    "MLP",
    "PGA",
    "PINN",
    "SGD",
    "Adam",
    "AdamW",
    "AutoEngine",
    "AutogradEngine",
    "Bagging",
    "Bound",
    "Box",
    "Budget",
    "CVaR",
    "Callback",
    "CheckReport",
    "Checkpoint",
    "CheckpointError",
    "Collocation",
    "CompileError",
    "ConfigError",
    "Continuation",
    "ConvergenceThreshold",
    "CosineDecay",
    "CostThreshold",
    "DataError",
    "DerivativeError",
    "DivergenceGuard",
    "Domain",
    "EarlyStopping",
    "Ellipsoid",
    "Energy",
    "Equality",
    "ExponentialDecay",
    "FeasibilityReport",
    "FourierFeatures",
    "FullBatch",
    "FunctionTable",
    "GradCheckReport",
    "Grid",
    "Interval",
    "LogSumExp",
    "Max",
    "MaxSteps",
    "Mean",
    "Metric",
    "MetricThreshold",
    "MiniBatch",
    "ModelSpec",
    "ModifiedMLP",
    "Momentum",
    "NoUnknownError",
    "On",
    "Parameter",
    "ParameterFit",
    "ParameterRecorder",
    "Parametric",
    "PinnoptError",
    "PinnoptWarning",
    "PointSet",
    "Points",
    "Problem",
    "ProblemError",
    "Product",
    "Range",
    "ReduceOnPlateau",
    "ReferenceSolution",
    "Region",
    "ResidualMLP",
    "Result",
    "Robust",
    "Sampling",
    "Scenarios",
    "StepDecay",
    "StopReason",
    "TaylorEngine",
    "TimeLimit",
    "Uncertain",
    "UnknownArgumentsError",
    "UnknownSymbolError",
    "UnsupportedFunctionError",
    "ValidationError",
    "Vertices",
    "Warmup",
    "__version__",
    "bagging",
    "between",
    "check_problem",
    "feasibility",
    "fit_parameters",
    "gradient_check",
    "init",
    "interior",
    "solve",
]
