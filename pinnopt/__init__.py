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

The flat namespace holds what a problem is made of and the entry points; every plug-in
family has a namespace of its own: ``po.optim`` (phases, batching, schedules),
``po.stop`` (stopping criteria), ``po.sample`` (samplers, adaptive sampling),
``po.balance`` (loss weighting), ``po.robust`` (uncertainty sets, worst cases),
``po.init`` (initializers), ``po.nn`` (networks, derivative engines), ``po.callbacks``
(callbacks, checkpoints, recorders), ``po.validate`` (checks, reports, plots) and
``po.workflows`` (time-marching, bagging, parameter fits, pruning, hyperparameter sweeps:
``po.sweep``); ``po.domain`` holds every domain class, among them what the operators
``*``, ``|``, ``&``, ``-`` build (``Product``, ``Union``, ``Intersection``, ``Difference``).
CHANGELOG.md lists where each name of version 0.1 went.

"""

from . import balance, callbacks, domain, nn, optim, robust, sample, stop, symbolic, validate, workflows
from ._version import __version__
from .compile.hard import HardConstraints
from .declare.bounds import Bound, Continuation, between
from .declare.conditions import AtPoints, Dirichlet, Initial, InitialRate, Neumann, Periodic, Robin
from .declare.energy import Energy
from .declare.equality import Equality
from .declare.items import On, Parameter, interior
from .declare.objective import Minimize
from .declare.observations import Observations
from .declare.problem import Problem
from .declare.reference import ReferenceSolution
from .declare.regularization import L1, L2, Range, WeightPrior
from .declare.uncertainty.space import Uncertain
from .domain import (
    Ball,
    Box,
    Collocation,
    Disk,
    Domain,
    Interval,
    Points,
    Polygon,
    Region,
    Side,
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
from .nn import init
from .result import Result
from .solve import solve
from .symbolic import normal_derivative
from .train.loggers import CSVLogger, TensorBoardLogger
from .train.runtime import Runtime
from .validate.check import check_problem
from .validate.gradcheck import gradient_check
from .workflows.marching import Marching, march
from .workflows.sweeps import sweep

__all__ = [
    "L1",
    "L2",
    "AtPoints",
    "Ball",
    "Bound",
    "Box",
    "CSVLogger",
    "CheckpointError",
    "Collocation",
    "CompileError",
    "ConfigError",
    "Continuation",
    "DataError",
    "DerivativeError",
    "Dirichlet",
    "Disk",
    "Domain",
    "Energy",
    "Equality",
    "HardConstraints",
    "Initial",
    "InitialRate",
    "Interval",
    "Marching",
    "Minimize",
    "Neumann",
    "NoUnknownError",
    "Observations",
    "On",
    "Parameter",
    "Periodic",
    "PinnoptError",
    "PinnoptWarning",
    "Points",
    "Polygon",
    "Problem",
    "ProblemError",
    "Range",
    "ReferenceSolution",
    "Region",
    "Result",
    "Robin",
    "Runtime",
    "Side",
    "TensorBoardLogger",
    "Uncertain",
    "UnknownArgumentsError",
    "UnknownSymbolError",
    "UnsupportedFunctionError",
    "ValidationError",
    "WeightPrior",
    "__version__",
    "balance",
    "between",
    "callbacks",
    "check_problem",
    "domain",
    "gradient_check",
    "init",
    "interior",
    "march",
    "nn",
    "normal_derivative",
    "optim",
    "robust",
    "sample",
    "solve",
    "stop",
    "sweep",
    "symbolic",
    "validate",
    "workflows",
]
