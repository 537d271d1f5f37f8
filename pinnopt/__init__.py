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

from ._version import __version__
from .compile.hard import HardConstraints
from .declare.bounds import Bound, Continuation, between
from .declare.conditions import AtPoints, Dirichlet, Initial, InitialRate, Neumann, Periodic, Robin
from .declare.energy import Energy
from .declare.equality import Equality
from .declare.observations import Observations
from .declare.problem import On, Parameter, Problem, interior
from .declare.reference import ReferenceSolution
from .declare.regularization import L1, L2, Range
from .declare.uncertainty.budget import Budget
from .declare.uncertainty.ellipsoid import Ellipsoid
from .declare.uncertainty.sets import BoxSet, Scenarios
from .declare.uncertainty.space import Uncertain
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
from .losses import (
    PointSet,
)
from .nn import (
    MLP,
    PINN,
    FourierFeatures,
    ModelSpec,
    ModifiedMLP,
    PeriodicEmbedding,
    ResidualMLP,
    init,
)
from .nn.taylor import AutoEngine, TaylorEngine
from .result import (
    Result,
)
from .robust import PGA, CVaR, GridSearch, LogSumExp, Max, Mean, Parametric, Robust, Sampling, Vertices
from .solve import (
    solve,
)
from .strategies import (
    Causal,
    Curriculum,
    FixedWeights,
    GradNorm,
    LRAnnealing,
    NTKWeights,
    ReLoBRaLo,
    SelfAdaptive,
)
from .strategies.sampling import RAD, RAR, Resample
from .symbolic import DEFAULT_FUNCTIONS, AutogradEngine, FunctionTable, Normal, normal_derivative
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
from .train.trace import ParameterTrace
from .validate.check import (
    CheckReport,
    check_problem,
)
from .validate.feasibility import FeasibilityReport, feasibility
from .validate.gradcheck import (
    GradCheckReport,
    gradient_check,
)
from .validate.trajectory import (
    ParameterRecorder,
)
from .workflows.bagging import Bagging, bagging
from .workflows.fit import ParameterFit, fit_parameters
from .workflows.marching import Marching, march
from .workflows.stitched import MarchResult

__all__ = [
    "DEFAULT_FUNCTIONS",
    "L1",
    "L2",
    "LBFGS",
    "MLP",
    "PGA",
    "PINN",
    "RAD",
    "RAR",
    "SGD",
    "Adam",
    "AdamW",
    "AtPoints",
    "AutoEngine",
    "AutogradEngine",
    "Bagging",
    "Ball",
    "Bound",
    "Box",
    "BoxSet",
    "Budget",
    "CVaR",
    "Callback",
    "Causal",
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
    "Curriculum",
    "DataError",
    "DerivativeError",
    "Difference",
    "Dirichlet",
    "Disk",
    "DivergenceGuard",
    "Domain",
    "EarlyStopping",
    "Ellipsoid",
    "Energy",
    "Equality",
    "ExponentialDecay",
    "FeasibilityReport",
    "FixedWeights",
    "FourierFeatures",
    "FullBatch",
    "FunctionTable",
    "GradCheckReport",
    "GradNorm",
    "Grid",
    "GridSearch",
    "Halton",
    "HardConstraints",
    "Initial",
    "InitialRate",
    "Intersection",
    "Interval",
    "LRAnnealing",
    "LatinHypercube",
    "LogSumExp",
    "MarchResult",
    "Marching",
    "Max",
    "MaxSteps",
    "Mean",
    "Metric",
    "MetricThreshold",
    "MiniBatch",
    "ModelSpec",
    "ModifiedMLP",
    "Momentum",
    "NTKWeights",
    "Neumann",
    "NoUnknownError",
    "Normal",
    "Observations",
    "On",
    "Parameter",
    "ParameterFit",
    "ParameterRecorder",
    "ParameterTrace",
    "Parametric",
    "Periodic",
    "PeriodicEmbedding",
    "PinnoptError",
    "PinnoptWarning",
    "PointSet",
    "Points",
    "Polygon",
    "Problem",
    "ProblemError",
    "Product",
    "Range",
    "ReLoBRaLo",
    "ReduceOnPlateau",
    "ReferenceSolution",
    "Region",
    "Resample",
    "ResidualMLP",
    "Result",
    "Robin",
    "Robust",
    "Sampler",
    "Sampling",
    "Scenarios",
    "SelfAdaptive",
    "Side",
    "Sobol",
    "StepDecay",
    "StopReason",
    "TaylorEngine",
    "TimeLimit",
    "Uncertain",
    "Uniform",
    "Union",
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
    "march",
    "normal_derivative",
    "solve",
]
