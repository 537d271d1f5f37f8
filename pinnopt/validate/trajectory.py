"""Trajectories of fitted parameters during training (the history records losses only).

:class:`ParameterRecorder` is a trainer callback: pass it to ``po.solve(...,
callbacks=[recorder])``. It copies the trainable scalars on the device every ``every``
steps without synchronizing with the host; the copies reach the host when asked for.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError
from ..losses.hooks import TrainingView


class ParameterRecorder:
    """Records the model's trainable scalars (``model.scalars()``) after every ``every`` steps.

    Attributes:
        names: the recorded parameters, in column order (set at the first record).
    """

    def __init__(self, every: int = 1) -> None:
        if not isinstance(every, int) or every < 1:
            raise ConfigError(f"ParameterRecorder(every={every!r}): expected an int >= 1")
        self.every = every
        self.names: tuple[str, ...] = ()
        self._steps: list[int] = []
        self._values: list[torch.Tensor] = []

    def __call__(self, view: TrainingView, step: int) -> None:
        """The trainer callback: ``cb(view, step)``."""
        if step % self.every:
            return
        scalars = view.scalars()
        if not scalars:
            return
        if not self.names:
            self.names = tuple(scalars)
        self._steps.append(int(step))
        self._values.append(torch.stack([scalars[n].detach().reshape(()) for n in self.names]).clone())

    def __len__(self) -> int:
        return len(self._steps)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """``{"step": (k,), name: (k,) ...}`` as numpy arrays (synchronizes once)."""
        steps = np.asarray(self._steps, dtype=np.int64)
        if not self._values:
            return {"step": steps}
        values = torch.stack(self._values).to("cpu", torch.float64).numpy()
        return {"step": steps, **{n: values[:, i].copy() for i, n in enumerate(self.names)}}
