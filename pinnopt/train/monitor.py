"""Criteria that watch the model itself: an evaluation metric, and early stopping.

Both read values at live observations only (check points), where the trainer's current
model is the model being judged; the metric is evaluated every ``every`` steps.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import torch

from ..errors import ConfigError
from ..losses.hooks import TrainingUpdate, TrainingView
from .metric import Metric
from .stop import StopReason
from .stopping import Leaf, Observation, check_count, check_number

if TYPE_CHECKING:  # pragma: no cover
    from ..declare.problem import Problem

log = logging.getLogger("pinnopt.train")


class _ViewModel:
    """The model as a metric reads it, through the run's read-only view."""

    def __init__(self, view: TrainingView) -> None:
        self.view = view

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.view.predict(x)

    def parameters(self) -> tuple[torch.Tensor, ...]:
        return self.view.parameters()


def _evaluate(metric: Metric, obs: Observation) -> float:
    view = obs.view
    return metric.evaluate(_ViewModel(view), view.unknowns)


class MetricThreshold(Leaf):
    """Holds when the evaluation metric (default relative L2 vs the exact solution) <= threshold.

    The metric is evaluated every ``metric.every`` steps, at those check points only.
    """

    reason = StopReason.METRIC_THRESHOLD

    def __init__(self, threshold: float, metric: Metric | None = None) -> None:
        self.threshold = check_number("MetricThreshold", "threshold", threshold)
        if metric is not None and not isinstance(metric, Metric):
            raise ConfigError(f"MetricThreshold(metric={metric!r}): expected a po.stop.Metric")
        self.metric = metric or Metric()
        super().__init__()

    def _fresh(self) -> dict[str, Any]:
        return {"met": False, "detail": "", "value": None, "at": -1}

    def bind(self, problem: Problem) -> None:
        self.metric.bind(problem)

    def due(self, step: int, elapsed: float) -> bool:
        return step % self.metric.every == 0

    def observe(self, obs: Observation) -> bool:
        s = self._state
        if obs.live and obs.step % self.metric.every == 0 and obs.step != s["at"]:
            value = _evaluate(self.metric, obs)
            s["value"], s["at"] = value, obs.step
            s["met"] = value <= self.threshold
            s["detail"] = f"{self.metric.kind} {value:.4e} <= {self.threshold:g}"
            log.info("step %d: %s = %.4e", obs.step, self.metric.kind, value)
        return bool(s["met"])

    @property
    def value(self) -> float | None:
        """The latest metric value (None before the first evaluation)."""
        return self._state["value"]

    def __repr__(self) -> str:
        return f"MetricThreshold({self.threshold:g}, {self.metric.kind}, every={self.metric.every})"


class EarlyStopping(Leaf):
    """Holds after ``patience`` epochs without improvement; restores the best model on stop.

    Args:
        patience: epochs allowed since the best value (counted at check points).
        min_delta: an improvement must lower the best value by more than this.
        monitor: ``"cost"`` (the epoch cost at each check point) or a :class:`Metric`
            (evaluated every ``metric.every`` steps).
        restore_best: load the parameters of the best check point when training stops here.
    """

    reason = StopReason.EARLY_STOPPING

    def __init__(
        self,
        patience: int = 10,
        min_delta: float = 0.0,
        monitor: str | Metric = "cost",
        restore_best: bool = True,
    ) -> None:
        self.patience = check_count("EarlyStopping", "patience", patience)
        self.min_delta = check_number("EarlyStopping", "min_delta", min_delta, positive=False)
        if monitor != "cost" and not isinstance(monitor, Metric):
            raise ConfigError(f"EarlyStopping(monitor={monitor!r}): expected 'cost' or a po.stop.Metric")
        self.monitor = monitor
        self.restore_best = bool(restore_best)
        super().__init__()

    def _fresh(self) -> dict[str, Any]:
        return {
            "met": False,
            "detail": "",
            "best": math.inf,
            "best_epoch": 0,
            "best_step": 0,
            "at": -1,
            "best_state": None,
        }

    def bind(self, problem: Problem) -> None:
        if isinstance(self.monitor, Metric):
            self.monitor.bind(problem)

    def due(self, step: int, elapsed: float) -> bool:
        return isinstance(self.monitor, Metric) and step % self.monitor.every == 0

    def observe(self, obs: Observation) -> bool:
        s = self._state
        if not obs.live or obs.step == s["at"]:
            return bool(s["met"])
        if isinstance(self.monitor, Metric):
            if obs.step % self.monitor.every != 0:
                return bool(s["met"])
            value: float | None = _evaluate(self.monitor, obs)
        else:
            value = obs.cost
        if value is None or not math.isfinite(value):
            return bool(s["met"])
        s["at"] = obs.step
        if value < s["best"] - self.min_delta:
            s["best"], s["best_epoch"], s["best_step"] = value, obs.epoch, obs.step
            if self.restore_best:
                s["best_state"] = obs.view.model_state()
        s["met"] = obs.epoch - s["best_epoch"] >= self.patience
        if s["met"]:
            what = "cost" if self.monitor == "cost" else self.monitor.kind  # type: ignore[union-attr]
            s["detail"] = (
                f"best {what} {s['best']:.4e} at step {s['best_step']}; no improvement for "
                f"{obs.epoch - s['best_epoch']} epochs >= patience {self.patience}"
            )
        return bool(s["met"])

    def on_stop(self, view: Any) -> TrainingUpdate | None:
        best = self._state["best_state"]
        if self.restore_best and best is not None:
            log.info("early stopping: restored the model of step %d", self._state["best_step"])
            return TrainingUpdate(model_state=best)
        return None

    @property
    def best_step(self) -> int:
        """The step of the best value seen so far."""
        return int(self._state["best_step"])

    def __repr__(self) -> str:
        mon = "cost" if self.monitor == "cost" else self.monitor.kind  # type: ignore[union-attr]
        return f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta:g}, monitor={mon})"
