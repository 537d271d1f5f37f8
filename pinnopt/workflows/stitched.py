"""The result of a time-marching run: its windows stitched into one solution."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..declare.problem import Problem
from ..errors import ConfigError, DataError, ValidationError
from ..export import export_predictions
from ..metrics import Validation, compute_metrics
from ..prediction import as_points
from ..result import Result
from ..train import History, TrainOutcome
from ..train.checkpoint import save_atomic

FORMAT = "pinnopt.march/1"
"""The format of a saved time-marching result (read by ``Result.load``)."""


class MarchResult:
    """The windows of a time-marching run, stitched into one solution over the whole domain.

    Attributes:
        problem: the original problem.
        windows: one :class:`~pinnopt.Result` per window, in time order.
        edges: the window edges in time.
        config: the settings (``config["strategies"]["marching"]`` and each window's config).
    """

    def __init__(
        self,
        problem: Problem | None,
        windows: list[Result],
        edges: list[float],
        axis: int,
        config: dict[str, Any],
    ):
        self.problem = problem
        self.windows = windows
        self.edges = edges
        self.axis = axis
        self.config = config
        self.coordinates = windows[0].coordinates if problem is None else tuple(map(str, problem.coordinates))
        self.unknowns = tuple(windows[0].unknowns) if problem is None else tuple(problem.unknowns)

    def __repr__(self) -> str:
        name = self.problem.name if self.problem is not None else self.config.get("problem", "?")
        return f"MarchResult({name}, windows={len(self.windows)}, steps={self.steps})"

    @property
    def steps(self) -> int:
        """Optimizer steps over all windows (of this session: reloaded windows count 0)."""
        return sum(w.steps for w in self.windows)

    @property
    def stop_reason(self) -> Any:
        """Why the last window stopped."""
        return self.windows[-1].stop_reason

    @property
    def parameter_history(self) -> dict[str, np.ndarray] | None:
        """The fitted parameters per step over all windows, steps continuing across windows
        (``{"step": (k,), name: (k,)}``); None unless every window recorded them."""
        parts = [w.parameter_history for w in self.windows]
        if not parts or any(not p for p in parts):
            return None
        offset, steps = 0, []
        for part, window in zip(parts, self.windows, strict=True):
            steps.append(np.asarray(part["step"]) + offset)
            offset += window.steps
        names = [k for k in parts[0] if k != "step" and all(k in p for p in parts)]
        joined = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in names}
        return {"step": np.concatenate(steps), **joined}

    @property
    def histories(self) -> list[Any]:
        """Each window's training history (None for windows reloaded from disk)."""
        return [w.history for w in self.windows]

    @property
    def history(self) -> History | None:
        """The windows' histories joined: steps, times and evaluations continue across windows;
        a term column is NaN in windows without that term (``t=0`` only in the first,
        ``continuity_u`` in the others). None when no window trained in this session."""
        parts = [h for h in self.histories if h is not None and len(h)]
        if not parts:
            return None
        names = list(dict.fromkeys(n for h in parts for n in h.term_names))
        rows, step, phase, lr, wall, evals, epoch = [], [], [], [], [], [], []
        s0 = e0 = p0 = ep0 = 0
        t0 = 0.0
        for h in parts:
            a = h.as_arrays()
            block = np.full((len(h), 1 + len(names)), np.nan)
            block[:, 0] = a["loss"]
            for j, n in enumerate(names):
                if n in h.term_names:
                    block[:, 1 + j] = a[f"term/{n}"]
            rows.append(block)
            step += list(a["step"] + s0)
            phase += list(a["phase"] + p0)
            lr += list(a["lr"])
            wall += list(a["time"] + t0)
            evals += list(a["evals"] + e0)
            epoch += list(a["epoch"] + ep0)
            s0, p0, t0, e0, ep0 = step[-1], phase[-1] + 1, wall[-1], evals[-1], epoch[-1]
        out = History(names)
        out.load_state_dict(
            {
                "term_names": names,
                "losses": torch.from_numpy(np.concatenate(rows)),
                "step": torch.tensor(step, dtype=torch.int64),
                "phase": torch.tensor(phase, dtype=torch.int64),
                "lr": torch.tensor(lr, dtype=torch.float64),
                "time": torch.tensor(wall, dtype=torch.float64),
                "evals": torch.tensor(evals, dtype=torch.int64),
                "epoch": torch.tensor(epoch, dtype=torch.int64),
            }
        )
        return out

    @property
    def outcome(self) -> TrainOutcome | None:
        """The windows' outcomes joined (phases in order, summed steps and times)."""
        done = [w.outcome for w in self.windows if w.outcome is not None]
        history = self.history
        if not done or history is None:
            return None
        return TrainOutcome(
            history,
            done[-1].reason,
            [p for o in done for p in o.phases],
            sum(o.steps for o in done),
            sum(o.evaluations for o in done),
            sum(o.wall_time_s for o in done),
            done[-1].stop_detail,
            sum(o.epochs for o in done),
            sum(o.retries for o in done),
        )

    @property
    def parameters(self) -> dict[str, float]:
        """Fitted trainable scalars: none (each window is a result of its own; see ``windows``)."""
        return {}

    @property
    def dtype(self) -> torch.dtype:
        """The windows' floating-point type."""
        return self.windows[0].dtype

    @property
    def device(self) -> torch.device:
        """The device the windows' models live on."""
        return self.windows[0].device

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write every window's model in one file; :meth:`pinnopt.Result.load` reads it back
        as a ``MarchResult`` (pass the problem when the windows used hard constraints)."""
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"save(path={path!r}): expected a path (str or os.PathLike)")
        marching = (self.config.get("strategies") or {}).get("marching") or {}
        payload = {
            "format": FORMAT,
            "problem": {
                "name": str(self.config.get("problem", "?")),
                "coordinates": list(self.coordinates),
                "unknowns": list(self.unknowns),
            },
            "marching": {k: v for k, v in marching.items() if k != "kind"},
            "edges": [float(e) for e in self.edges],
            "axis": int(self.axis),
            "config": json.dumps(self.config, default=str),
            "windows": [w.payload() for w in self.windows],
        }
        return save_atomic(payload, Path(path))

    def export(
        self, path: str | os.PathLike[str], points: Any = None, derivatives: Sequence[Any] = ()
    ) -> Path:
        """Write predictions (and ``derivatives``) at ``points`` (default: the evaluation
        grid) to ``.npz``, ``.csv`` or ``.vtu``, as :meth:`pinnopt.Result.export` does."""
        return export_predictions(self, path, points, derivatives)

    def window_of(self, t: np.ndarray) -> np.ndarray:
        """The window index of each time value (the last window includes the end)."""
        return np.searchsorted(np.asarray(self.edges[1:-1]), np.asarray(t, dtype=np.float64), side="right")

    def predict(
        self, points: Any, derivatives: Sequence[Any] = (), *, batch_size: int = 65536
    ) -> dict[str, np.ndarray]:
        """The unknowns (and expressions in them) at points, each from its time window."""
        first = self.windows[0]
        x = as_points(points, first.coordinates).numpy()
        which = self.window_of(x[:, self.axis])
        out: dict[str, np.ndarray] = {}
        for k, res in enumerate(self.windows):
            rows = np.nonzero(which == k)[0]
            if not len(rows):
                continue
            part = res.predict(x[rows], derivatives, batch_size=batch_size)
            for name, values in part.items():
                if name not in out:
                    out[name] = np.empty(len(x), dtype=np.float64)
                out[name][rows] = values
        if not out:
            raise DataError("predict: no points given")
        return out

    def validate(self, points: Any = None) -> Validation:
        """Relative L2 and max abs error per unknown over the whole domain."""
        if self.problem is None:
            raise ValidationError("this result was loaded without its problem; pass problem=")
        exact = self.problem.exact_solution
        if exact is None:
            raise ValidationError(f"problem {self.problem.name!r} declares no exact solution")
        pts = self.problem.evaluation_points() if points is None else np.asarray(points, float)
        pred = self.predict(pts)
        ref = exact(pts)
        metrics = {u: compute_metrics(pred[u], ref[u], name=u) for u in self.unknowns}
        dtype = str(self.windows[0].dtype).replace("torch.", "")
        return Validation(metrics, {}, n_points=len(pts), dtype=dtype, reference=exact.kind)
