"""The public surface of 0.2.0: a small flat core, one namespace per plug-in family, and a
home for every name of 0.1.0 (CHANGELOG.md)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import pinnopt as po

NAMESPACES = {
    "balance",
    "callbacks",
    "domain",
    "init",
    "nn",
    "optim",
    "robust",
    "sample",
    "stop",
    "symbolic",
    "validate",
    "workflows",
}

HOMES = {
    "Adam": "optim.Adam",
    "AdamW": "optim.AdamW",
    "AtPoints": "AtPoints",
    "AutoEngine": "nn.AutoEngine",
    "AutogradEngine": "nn.AutogradEngine",
    "Bagging": "workflows.Bagging",
    "Ball": "Ball",
    "Bound": "Bound",
    "Box": "Box",
    "BoxSet": "robust.BoxSet",
    "Budget": "robust.Budget",
    "CVaR": "robust.CVaR",
    "Callback": "callbacks.Callback",
    "Causal": "balance.Causal",
    "CheckReport": "validate.CheckReport",
    "Checkpoint": "callbacks.Checkpoint",
    "CheckpointError": "CheckpointError",
    "Collocation": "Collocation",
    "CompileError": "CompileError",
    "ConfigError": "ConfigError",
    "Continuation": "Continuation",
    "ConvergenceThreshold": "stop.ConvergenceThreshold",
    "CosineDecay": "optim.CosineDecay",
    "CostThreshold": "stop.CostThreshold",
    "Curriculum": "optim.Curriculum",
    "DEFAULT_FUNCTIONS": "symbolic.DEFAULT_FUNCTIONS",
    "DataError": "DataError",
    "DerivativeError": "DerivativeError",
    "Difference": "domain.Difference",
    "Dirichlet": "Dirichlet",
    "Disk": "Disk",
    "DivergenceGuard": "optim.DivergenceGuard",
    "Domain": "Domain",
    "EarlyStopping": "stop.EarlyStopping",
    "Ellipsoid": "robust.Ellipsoid",
    "Energy": "Energy",
    "Equality": "Equality",
    "ExponentialDecay": "optim.ExponentialDecay",
    "FeasibilityReport": "validate.FeasibilityReport",
    "FixedWeights": "balance.FixedWeights",
    "FourierFeatures": "nn.FourierFeatures",
    "FullBatch": "optim.FullBatch",
    "FunctionTable": "symbolic.FunctionTable",
    "GradCheckReport": "validate.GradCheckReport",
    "GradNorm": "balance.GradNorm",
    "Grid": "sample.Grid",
    "GridSearch": "robust.GridSearch",
    "Halton": "sample.Halton",
    "HardConstraints": "HardConstraints",
    "Initial": "Initial",
    "InitialRate": "InitialRate",
    "Intersection": "domain.Intersection",
    "Interval": "Interval",
    "L1": "L1",
    "L2": "L2",
    "LBFGS": "optim.LBFGS",
    "LRAnnealing": "balance.LRAnnealing",
    "LatinHypercube": "sample.LatinHypercube",
    "LogSumExp": "robust.LogSumExp",
    "MLP": "nn.MLP",
    "MarchResult": "workflows.MarchResult",
    "Marching": "Marching",
    "Max": "robust.Max",
    "MaxSteps": "stop.MaxSteps",
    "Mean": "robust.Mean",
    "Metric": "stop.Metric",
    "MetricThreshold": "stop.MetricThreshold",
    "MiniBatch": "optim.MiniBatch",
    "ModelSpec": "nn.ModelSpec",
    "ModifiedMLP": "nn.ModifiedMLP",
    "Momentum": "optim.Momentum",
    "NTKWeights": "balance.NTKWeights",
    "Neumann": "Neumann",
    "NoUnknownError": "NoUnknownError",
    "Normal": "symbolic.Normal",
    "Observations": "Observations",
    "On": "On",
    "PGA": "robust.PGA",
    "PINN": "nn.PINN",
    "Parameter": "Parameter",
    "ParameterFit": "workflows.ParameterFit",
    "ParameterRecorder": "callbacks.ParameterRecorder",
    "ParameterTrace": "callbacks.ParameterTrace",
    "Parametric": "robust.Parametric",
    "Periodic": "Periodic",
    "PeriodicEmbedding": "nn.PeriodicEmbedding",
    "PinnoptError": "PinnoptError",
    "PinnoptWarning": "PinnoptWarning",
    "PointSet": "sample.PointSet",
    "Points": "Points",
    "Polygon": "Polygon",
    "Problem": "Problem",
    "ProblemError": "ProblemError",
    "Product": "domain.Product",
    "RAD": "sample.RAD",
    "RAR": "sample.RAR",
    "Range": "Range",
    "ReLoBRaLo": "balance.ReLoBRaLo",
    "ReduceOnPlateau": "optim.ReduceOnPlateau",
    "ReferenceSolution": "ReferenceSolution",
    "Region": "Region",
    "Resample": "sample.Resample",
    "ResidualMLP": "nn.ResidualMLP",
    "Result": "Result",
    "Robin": "Robin",
    "Robust": "robust.Robust",
    "SGD": "optim.SGD",
    "Sampler": "sample.Sampler",
    "Sampling": "robust.Sampling",
    "Scenarios": "robust.Scenarios",
    "SelfAdaptive": "balance.SelfAdaptive",
    "Side": "Side",
    "Sobol": "sample.Sobol",
    "StepDecay": "optim.StepDecay",
    "StopReason": "stop.StopReason",
    "TaylorEngine": "nn.TaylorEngine",
    "TimeLimit": "stop.TimeLimit",
    "Uncertain": "Uncertain",
    "Uniform": "sample.Uniform",
    "Union": "domain.Union",
    "UnknownArgumentsError": "UnknownArgumentsError",
    "UnknownSymbolError": "UnknownSymbolError",
    "UnsupportedFunctionError": "UnsupportedFunctionError",
    "ValidationError": "ValidationError",
    "Vertices": "robust.Vertices",
    "Warmup": "optim.Warmup",
    "bagging": "workflows.bagging",
    "between": "between",
    "check_problem": "check_problem",
    "feasibility": "validate.feasibility",
    "fit_parameters": "workflows.fit_parameters",
    "gradient_check": "gradient_check",
    "init": "init",
    "interior": "interior",
    "march": "march",
    "normal_derivative": "normal_derivative",
    "solve": "solve",
}
"""Every name of 0.1.0's ``po.__all__`` and where it lives now."""


def _resolve(path: str) -> object:
    obj: object = po
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


NEW = {
    "Minimize": "Minimize",  # issue 20: problems made of parameters
    "WeightPrior": "WeightPrior",
    "NoParameterError": "errors.NoParameterError",
    "UnusedSymbolError": "errors.UnusedSymbolError",
    "NoCoordinates": "domain.NoCoordinates",
}
"""Names added after 0.2.0 and where they live."""


@pytest.mark.parametrize("name", sorted(NEW))
def test_every_new_name_resolves(name: str) -> None:
    assert _resolve(NEW[name]) is not None


def test_the_flat_core_has_at_most_60_names() -> None:
    flat = [n for n in po.__all__ if n not in NAMESPACES and n != "__version__"]
    assert len(flat) <= 60, flat
    assert all(hasattr(po, n) for n in po.__all__)


@pytest.mark.parametrize("old", sorted(HOMES))
def test_every_old_name_has_a_home(old: str) -> None:
    assert _resolve(HOMES[old]) is not None
    if HOMES[old] != old:  # no alias left behind at the old place
        assert old not in po.__all__ and not hasattr(po, old)


def test_the_changelog_names_every_moved_name() -> None:
    text = (Path(__file__).resolve().parent.parent / "CHANGELOG.md").read_text()
    for old, new in HOMES.items():
        if new != old:
            assert f"`po.{old}` | `po.{new}`" in text, old


def test_solve_takes_at_most_15_options_each_with_a_default() -> None:
    params = list(inspect.signature(po.solve).parameters.values())[1:]
    assert len(params) <= 15
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in params)


def test_solve_does_not_take_the_old_options() -> None:
    for old in ("balance", "causal", "curriculum", "marching", "hooks", "device", "engine", "points"):
        assert old not in inspect.signature(po.solve).parameters


def test_importing_pinnopt_does_not_load_matplotlib() -> None:
    code = "import sys, pinnopt; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_second_order_phases_live_in_optim() -> None:
    for name in ("LevenbergMarquardt", "GaussNewton", "SSBFGS", "SSBroyden"):
        assert name in po.optim.__all__
        assert issubclass(getattr(po.optim, name), po.optim.Phase)


def test_sweeps_live_in_workflows_with_one_flat_entry_point() -> None:
    assert po.sweep is po.workflows.sweep
    for name in ("Float", "Int", "Choice", "SweepResult", "SweepTrial"):
        assert name in po.workflows.__all__ and name not in po.__all__
    code = "import sys, pinnopt; print('optuna' in sys.modules)"  # Optuna is an optional extra
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loggers_and_export_are_public() -> None:
    assert po.CSVLogger is po.callbacks.CSVLogger and po.TensorBoardLogger is po.callbacks.TensorBoardLogger
    assert {"CSVLogger", "TensorBoardLogger"} <= set(po.__all__)
    assert callable(po.Result.export) and callable(po.workflows.MarchResult.export)
    assert inspect.signature(po.Result.export).parameters.keys() == {"self", "path", "points", "derivatives"}
