"""The outcome of :func:`pinnopt.solve`: trained model, history, why it stopped, validation."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
import torch

from .compile.assemble import NoNetwork, build_network
from .compile.hard import HardConstraints, plan_hard_constraints
from .compile.stage import Compiled, compile_problem
from .declare.exact import unknown_name
from .declare.items import Parameter
from .declare.problem import Problem
from .errors import CheckpointError, ConfigError, PinnoptError, ValidationError
from .export import export_predictions
from .losses import Objective
from .metrics import Validation, compute_metrics, parameter_errors
from .nn import PINN, model_from_config
from .prediction import Prediction, as_points, count_outside, evaluate_fields, numeric_array
from .symbolic import SymbolContext
from .train import History, StopReason, TrainOutcome
from .train.checkpoint import save_atomic

if TYPE_CHECKING:  # pragma: no cover
    from .robust import RobustReport

FORMAT = "pinnopt.result/1"
NO_NETWORK = {"kind": "none"}
"""The saved model description of a problem without unknown functions (parameters only)."""

_LOADERS: dict[str, Callable[[dict[str, Any], Path, Problem | None], Any]] = {}


def register_format(name: str, loader: Callable[[dict[str, Any], Path, Problem | None], Any]) -> None:
    """Let :meth:`Result.load` read files of format ``name`` with ``loader(payload, path,
    problem)`` (a workflow above this layer registers its own result files: time-marching)."""
    _LOADERS[name] = loader


class Result:
    """A trained solution.

    Attributes:
        problem: the solved problem (None for a result loaded without its problem).
        model: the trained :class:`~pinnopt.nn.PINN` (network and scalar parameters).
        history: per-step losses, continuous across phases.
        stop_reason: why training stopped (:class:`~pinnopt.train.StopReason`).
        outcome: the trainer's full report (phases, steps, function evaluations, time).
        config: the solver settings, JSON-ready.
        robust: for problems with uncertain coefficients, the worst case found, the nominal
            vs worst-case objective and the dense certificate (:class:`~pinnopt.robust.RobustReport`).
        parameter_history: for inverse problems, ``{"step": (k,), name: (k,)}`` values of
            the trainable scalars (step 0: the initial guesses), else None.
        compiled: what :func:`pinnopt.solve` trained (objective, point sets, hooks); None
            for a loaded result (:attr:`objective` compiles it again from the problem).
    """

    def __init__(
        self,
        problem: Problem | None,
        model: PINN,
        outcome: TrainOutcome | None,
        config: Mapping[str, Any],
        *,
        coordinates: Sequence[str] | None = None,
        robust: RobustReport | None = None,
        parameter_history: Mapping[str, np.ndarray] | None = None,
        compiled: Compiled | None = None,
    ) -> None:
        self.problem = problem
        self.compiled = compiled
        self.robust = robust
        self.parameter_history = None if parameter_history is None else dict(parameter_history)
        self.model = model
        self.outcome = outcome
        self.config = dict(config)
        coords = [str(c) for c in problem.coordinates] if problem else list(coordinates or [])
        self.coordinates = tuple(coords)
        self.unknowns = model.unknowns

    @property
    def objective(self) -> Objective:
        """The objective this model was trained on (hard constraints and robust groups
        included); for a loaded result, compiled again from the problem and the saved config."""
        if self.compiled is not None:
            return self.compiled.objective
        if self.problem is None:
            raise ConfigError("this result has no problem; load it with Result.load(path, problem=...)")
        names = self.config.get("hard_constraints") or []
        with torch.random.fork_rng(devices=[]):
            compiled = compile_problem(
                self.problem,
                hard_constraints=HardConstraints(only=names) if names else False,
                dtype=self.dtype,
                device=self.device,
                seed=int(self.config.get("seed", 0)),
            )
        return compiled.objective

    # -- summary --------------------------------------------------------------------------------
    @property
    def history(self) -> History | None:
        """Per-step losses (None for a loaded result)."""
        return self.outcome.history if self.outcome else None

    @property
    def stop_reason(self) -> StopReason | None:
        """Why training stopped (None for a loaded result)."""
        return self.outcome.reason if self.outcome else None

    @property
    def steps(self) -> int:
        """Optimizer steps taken over all phases (0 for a loaded result): the one step count
        that the history, the stop detail and the report use."""
        return self.outcome.steps if self.outcome else 0

    @property
    def parameters(self) -> dict[str, float]:
        """Fitted values of the trainable scalars."""
        return self.model.parameter_values()

    @property
    def dtype(self) -> torch.dtype:
        """The run's dtype: the network's, else the trainable scalars', else the config's."""
        first = self._first_tensor()
        if first is not None:
            return first.dtype
        return {"float32": torch.float32}.get(str(self.config.get("dtype")), torch.float64)

    @property
    def device(self) -> torch.device:
        """The run's device: the network's, else the trainable scalars', else the config's."""
        first = self._first_tensor()
        if first is not None:
            return first.device
        return torch.device(str(self.config.get("device", "cpu")))

    def _first_tensor(self) -> torch.Tensor | None:
        """A floating-point parameter or buffer of the model (None for a model with neither)."""
        tensors = (*self.model.net.parameters(), *self.model.net.buffers(), *self.model.params.values())
        return next((t for t in tensors if t.is_floating_point()), None)

    def __repr__(self) -> str:
        reason = self.stop_reason.name if self.stop_reason else "loaded"
        return f"Result({self.problem.name if self.problem else '?'}, steps={self.steps}, {reason})"

    # -- use ------------------------------------------------------------------------------------
    def _context(self) -> SymbolContext:
        if self.problem is not None:
            return self.problem.context
        coords = tuple(sp.Symbol(c) for c in self.coordinates)
        return SymbolContext(coords, self.unknowns, tuple(sp.Symbol(p) for p in self.parameters))

    def predict(self, points: Any, derivatives: Sequence[Any] = (), *, batch_size: int = 65536) -> Prediction:
        """Evaluate the unknowns (and optional expressions such as ``u.diff(x)``) at points.

        Points outside the problem's domain are evaluated too (the network extrapolates),
        with a logged warning; the returned mapping records how many there were
        (:attr:`pinnopt.prediction.Prediction.outside`).

        Args:
            points: ``(N, dim)`` array, or a dict ``{coordinate: values}``.
            derivatives: sympy expressions in the unknowns, e.g. ``[u.diff(x), u.diff(x, 2)]``;
                a derivative of an unknown is returned under its readable name (``u_x``,
                ``u_xx``, ``theta_tt``), any other expression under ``str(expression)``.
                The sympy expression itself also works as a key:
                ``pred[u.diff(x, 2)] is pred["u_xx"]``.
            batch_size: points per model call.
        Returns:
            ``{name: (N,) float64 array}`` for every unknown and requested expression.
        """
        x = as_points(points, self.coordinates, self.dtype, self.device)
        return evaluate_fields(
            self.model, x, self._context(), self.unknowns, derivatives, batch_size, outside=self._outside(x)
        )

    def _outside(self, x: torch.Tensor) -> int:
        """How many of the points lie outside the domain (logged as a warning when any do)."""
        domain = self.problem.domain if self.problem is not None else None
        return count_outside(x, domain, self.config.get("bounds"))

    def validate(self, points: Any = None, *, up_to_constant: Iterable[Any] = ()) -> Validation:
        """Relative L2 and max abs error per unknown on the problem's fixed evaluation grid.

        Args:
            points: ``(N, dim)`` evaluation points (default: the problem's evaluation grid,
                or a reference file's own points).
            up_to_constant: unknowns determined only up to an additive constant (the
                pressure of an incompressible flow, a pure-Neumann potential), by name
                (``"p"``) or as the sympy function (``p(x, y)``): the mean over the
                evaluation points is removed from both prediction and reference before
                comparing.

        Raises:
            ValidationError: no problem, or the problem declares no exact or reference solution.
            ConfigError: ``up_to_constant`` names something that is not an unknown.
        """
        if self.problem is None:
            raise ValidationError("this result was loaded without its problem; pass problem=")
        exact = self.problem.exact_solution
        known = {p.name: float(p.exact) for p in self.problem.parameters if p.exact is not None}
        dtype = str(self.dtype).replace("torch.", "")
        if exact is None and not self.unknowns and known:  # an optimization over parameters only
            return Validation({}, parameter_errors(self.parameters, known), n_points=0, dtype=dtype)
        if exact is None:
            raise ValidationError(
                f"problem {self.problem.name!r} declares no exact solution; give Problem(exact=...)"
            )
        shifted = self._constant_free(up_to_constant)
        pts = self.problem.evaluation_points() if points is None else numeric_array(points, "points")
        pred = self.predict(pts)
        ref = exact(pts)
        metrics = {}
        for u in self.unknowns:
            p, r = np.asarray(pred[u], dtype=np.float64), np.asarray(ref[u], dtype=np.float64)
            if u in shifted:
                p, r = p - p.mean(), r - r.mean()
            metrics[u] = compute_metrics(p, r, name=u)
        params = parameter_errors(self.parameters, known)
        return Validation(
            metrics, params, n_points=len(pts), dtype=dtype, reference=exact.kind, up_to_constant=shifted
        )

    def _constant_free(self, names: Iterable[Any]) -> tuple[str, ...]:
        """The unknown names of ``validate(up_to_constant=...)``, checked."""
        if isinstance(names, (str, sp.Basic)) or not isinstance(names, Iterable):
            names = [names]
        out: list[str] = []
        for item in names:
            try:
                name = unknown_name(item)
            except PinnoptError:
                name = None
            if name not in self.unknowns:
                raise ConfigError(
                    f"validate(up_to_constant=[{item!r}]): {item!r} is not an unknown of the problem; "
                    f"its unknowns are {list(self.unknowns)}"
                )
            if name not in out:
                out.append(name)
        return tuple(out)

    def export(
        self, path: str | os.PathLike[str], points: Any = None, derivatives: Sequence[Any] = ()
    ) -> Path:
        """Write predictions (and ``derivatives``, sympy expressions such as ``u.diff(x)``) at
        ``points`` (default: the evaluation grid) to ``path``: ``.npz``, ``.csv``, or ``.vtu``
        for ParaView (needs ``pip install pinnopt[vtk]``). Returns the path written."""
        return export_predictions(self, path, points, derivatives)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the trained model with its problem metadata (tensors and plain data only)."""
        path = _path(path, "save(path)")
        return save_atomic(self.payload(), path)

    def payload(self) -> dict[str, Any]:
        """What :meth:`save` writes: tensors and plain data only.

        Raises:
            ConfigError: the network is a custom torch module (only specs can be rebuilt).
        """
        net_config = self.config.get("model")
        if net_config is None and not self.unknowns:  # parameters only: no network to rebuild
            net_config = NO_NETWORK
        if net_config is None:
            raise ConfigError(
                "this result's network is a custom torch module; save its state_dict yourself "
                "(only po.nn.MLP specs can be rebuilt on load)"
            )
        hist = self.history.as_arrays() if self.history else {}
        return {
            "format": FORMAT,
            "problem": {
                "name": self.problem.name if self.problem else self.config.get("problem", "?"),
                "coordinates": list(self.coordinates),
                "unknowns": list(self.unknowns),
                "parameters": self.parameters,
            },
            "model": json.dumps(net_config),
            "bounds": [list(b) for b in self.config["bounds"]],
            "config": json.dumps(self.config, default=str),
            "dtype": str(self.dtype).replace("torch.", ""),
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "history": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in hist.items()},
            "stop_reason": self.stop_reason.name if self.stop_reason else None,
            "parameter_history": {
                k: torch.from_numpy(np.ascontiguousarray(v))
                for k, v in (self.parameter_history or {}).items()
            },
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str], problem: Problem | None = None) -> Result:
        """Load a saved result; never unpickles arbitrary objects (``weights_only=True``).

        Pass the ``problem`` to validate against its exact solution. The file of a
        time-marching run loads as a ``MarchResult`` (the same ``predict``, ``validate`` and
        ``export``; pass the problem when its windows used hard constraints).
        """
        try:
            payload = torch.load(Path(path), weights_only=True, map_location="cpu")
        except FileNotFoundError:
            raise CheckpointError(f"{path}: no such result file") from None
        except Exception as exc:  # corrupt or not ours
            raise CheckpointError(f"{path}: not a readable pinnopt result ({exc})") from exc
        if isinstance(payload, dict) and payload.get("format") in _LOADERS:
            return _LOADERS[payload["format"]](payload, Path(path), problem)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not a pinnopt result file (expected format {FORMAT})")
        try:
            return cls._from_payload(payload, path, problem)
        except PinnoptError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            what = " ".join(str(exc).split())
            kind = type(exc).__name__
            raise CheckpointError(f"{path}: a malformed pinnopt result file ({kind}: {what})") from exc

    @classmethod
    def _from_payload(cls, payload: dict[str, Any], path: Any, problem: Problem | None) -> Result:
        meta = payload["problem"]
        if problem is not None and (
            list(problem.unknowns) != meta["unknowns"]
            or [str(c) for c in problem.coordinates] != meta["coordinates"]
        ):
            raise CheckpointError(
                f"{path}: saved for unknowns {meta['unknowns']} in {meta['coordinates']}, but the "
                f"given problem has {list(problem.unknowns)} in "
                f"{[str(c) for c in problem.coordinates]}"
            )
        saved = json.loads(payload["model"])
        spec = None if saved == NO_NETWORK else model_from_config(saved)
        lower, upper = payload["bounds"]
        config = json.loads(payload["config"])
        if spec is None:
            net: torch.nn.Module = NoNetwork()
        elif config.get("hard_constraints") or config.get("unknown_coordinates"):
            if problem is None:
                raise CheckpointError(
                    f"{path}: saved with hard constraints or coefficient fields on some coordinates; "
                    "pass problem= to rebuild its network"
                )
            names = config.get("hard_constraints") or []
            plan = plan_hard_constraints(problem, HardConstraints(only=names)) if names else None
            net, _ = build_network(problem, spec, plan)
        else:
            net = spec.build(len(meta["coordinates"]), len(meta["unknowns"]), (lower, upper))
        params = [Parameter(sp.Symbol(k), v) for k, v in meta["parameters"].items()]
        model = PINN(net, meta["unknowns"], params)
        dtype = {"float32": torch.float32, "float64": torch.float64}[payload["dtype"]]
        model.to(dtype)
        model.load_state_dict(payload["state_dict"])
        history = {k: v.numpy() for k, v in payload.get("parameter_history", {}).items()} or None
        return cls(problem, model, None, config, coordinates=meta["coordinates"], parameter_history=history)


def _path(value: Any, what: str) -> Path:
    """``value`` as a Path, or a ConfigError naming ``what``."""
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"{what}={value!r}: expected a path (str or os.PathLike)")
    return Path(value)
