"""Inverse problems: recording the trainable coefficients while they are fitted.

Unknown scalar coefficients are :class:`~pinnopt.Parameter` symbols; unknown
coefficient fields are extra unknowns (``a(x)``, which may take fewer coordinates than the
solution). :func:`pinnopt.solve` adds a :class:`ParameterTrace` whenever the problem has
parameters, and the result reports the fitted values and their history
(``result.parameters``, ``result.parameter_history``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..losses.hooks import TrainingHook, TrainingView


class ParameterTrace(TrainingHook):
    """Records the trainable scalars every ``every`` steps.

    Values are kept on the training device and copied to the host only when
    :meth:`history` is read, so recording never waits for the device.
    """

    name = "parameter_trace"

    def __init__(self, every: int = 1) -> None:
        if not isinstance(every, int) or every < 1:
            raise ConfigError(f"ParameterTrace(every={every!r}): expected an int >= 1")
        self.every = every
        self.names: list[str] = []
        self._steps: list[int] = []
        self._rows: list[torch.Tensor] = []

    def on_train_start(self, view: TrainingView) -> None:
        scalars = view.scalars()
        self.names = list(scalars)
        if self.names and not self._rows:
            self._record(scalars, 0)

    def on_step(self, view: TrainingView) -> None:
        step = view.step
        if self.names and step % self.every == 0:
            self._record(view.scalars(), step)

    def _record(self, scalars: dict[str, torch.Tensor], step: int) -> None:
        self._rows.append(torch.stack([scalars[n] for n in self.names]).clone())
        self._steps.append(step)

    def history(self) -> dict[str, np.ndarray]:
        """``{"step": (k,), name: (k,) values}``; step 0 holds the initial guesses."""
        if not self._rows:
            return {"step": np.zeros(0, dtype=np.int64), **{n: np.zeros(0) for n in self.names}}
        values = torch.stack(self._rows).to("cpu", torch.float64).numpy()
        out: dict[str, np.ndarray] = {"step": np.asarray(self._steps, dtype=np.int64)}
        for j, n in enumerate(self.names):
            out[n] = values[:, j].copy()
        return out

    def state_dict(self) -> dict[str, Any]:
        hist = self.history()
        return {"names": list(self.names), **{k: torch.from_numpy(v) for k, v in hist.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.names = list(state.get("names", []))
        steps = state.get("step")
        if steps is None or not len(steps):
            self._steps, self._rows = [], []
            return
        self._steps = [int(s) for s in steps]
        cols = [torch.as_tensor(state[n], dtype=torch.float64) for n in self.names]
        self._rows = list(torch.stack(cols, dim=1)) if cols else []
