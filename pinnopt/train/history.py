"""The training history: one row per optimizer step, continuous across phases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


class History:
    """Per-step records: total loss, per-term losses, learning rate, wall time, phase, epoch.

    Losses are buffered on the training device and copied to the host only in
    :meth:`flush` (at logging intervals), so a step never waits for the device.
    """

    def __init__(self, term_names: Sequence[str]) -> None:
        self.term_names = tuple(term_names)
        self._pending: list[torch.Tensor] = []
        self._pending_meta: list[tuple[int, int, float, float, int, int]] = []
        self.step: list[int] = []
        self.epoch: list[int] = []
        self.phase: list[int] = []
        self.lr: list[float] = []
        self.time: list[float] = []
        self.evals: list[int] = []
        self._losses: list[np.ndarray] = []

    def record(
        self,
        step: int,
        phase: int,
        lr: float,
        wall: float,
        evals: int,
        total: torch.Tensor,
        terms: torch.Tensor,
        epoch: int = 0,
    ) -> None:
        """Buffer one step (no host synchronization)."""
        self._pending.append(torch.cat([total.detach().reshape(1), terms.detach().reshape(-1)]))
        self._pending_meta.append((step, phase, lr, wall, evals, epoch))

    def flush(self) -> np.ndarray | None:
        """Copy buffered rows to the host; return them (``(k, 1 + n_terms)``) or None."""
        if not self._pending:
            return None
        rows = torch.stack(self._pending).to("cpu", torch.float64).numpy()
        for step, phase, lr, wall, evals, epoch in self._pending_meta:
            self.step.append(step)
            self.epoch.append(epoch)
            self.phase.append(phase)
            self.lr.append(lr)
            self.time.append(wall)
            self.evals.append(evals)
        self._losses.append(rows)
        self._pending.clear()
        self._pending_meta.clear()
        return rows

    def discard_pending(self) -> None:
        """Drop rows not yet flushed (after restoring an earlier state)."""
        self._pending.clear()
        self._pending_meta.clear()

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` flushed rows."""
        rows = self._all()[:n]
        self._losses = [rows]
        for lst in (self.step, self.phase, self.lr, self.time, self.evals, self.epoch):
            del lst[n:]

    @property
    def rows(self) -> int:
        """Rows recorded so far, flushed or not (no synchronization)."""
        return len(self.step) + len(self._pending)

    def rows_since(self, start: int) -> np.ndarray:
        """Flushed rows ``start:`` as a ``(k, 1 + n_terms)`` array (losses then terms)."""
        return self._all()[start:]

    def _all(self) -> np.ndarray:
        if not self._losses:
            return np.zeros((0, 1 + len(self.term_names)))
        if len(self._losses) > 1:
            self._losses = [np.concatenate(self._losses)]
        return self._losses[0]

    def __len__(self) -> int:
        return len(self.step)

    @property
    def loss(self) -> np.ndarray:
        """Total weighted loss per step."""
        return self._all()[:, 0]

    @property
    def terms(self) -> dict[str, np.ndarray]:
        """Unweighted loss per term, per step."""
        rows = self._all()
        return {name: rows[:, i + 1] for i, name in enumerate(self.term_names)}

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Everything as numpy arrays (``loss``, ``step``, ``phase``, ``lr``, ``time``, terms)."""
        out = {
            "step": np.asarray(self.step, dtype=np.int64),
            "phase": np.asarray(self.phase, dtype=np.int64),
            "lr": np.asarray(self.lr, dtype=np.float64),
            "time": np.asarray(self.time, dtype=np.float64),
            "evals": np.asarray(self.evals, dtype=np.int64),
            "epoch": np.asarray(self.epoch, dtype=np.int64),
            "loss": self.loss.copy(),
        }
        for name, values in self.terms.items():
            out[f"term/{name}"] = values.copy()
        return out

    def state_dict(self) -> dict[str, Any]:
        """Every flushed row as tensors (flush first to include pending rows)."""
        return {
            "term_names": list(self.term_names),
            "losses": torch.from_numpy(np.ascontiguousarray(self._all())),
            "step": torch.tensor(self.step, dtype=torch.int64),
            "phase": torch.tensor(self.phase, dtype=torch.int64),
            "lr": torch.tensor(self.lr, dtype=torch.float64),
            "time": torch.tensor(self.time, dtype=torch.float64),
            "evals": torch.tensor(self.evals, dtype=torch.int64),
            "epoch": torch.tensor(self.epoch, dtype=torch.int64),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the records by what :meth:`state_dict` saved."""
        if tuple(state["term_names"]) != self.term_names:
            raise ValueError(
                f"history terms {list(state['term_names'])} differ from the objective's "
                f"{list(self.term_names)}"
            )
        self.discard_pending()
        self._losses = [state["losses"].to(torch.float64).numpy().copy()]
        self.step = [int(v) for v in state["step"].tolist()]
        self.phase = [int(v) for v in state["phase"].tolist()]
        self.lr = [float(v) for v in state["lr"].tolist()]
        self.time = [float(v) for v in state["time"].tolist()]
        self.evals = [int(v) for v in state["evals"].tolist()]
        self.epoch = [int(v) for v in state["epoch"].tolist()]

    def summary(self) -> dict[str, Any]:
        """A short JSON-ready summary: first/last/min loss and the last per-term losses."""
        if not len(self):
            return {"steps": 0}
        loss = self.loss
        return {
            "steps": len(self),
            "first_loss": float(loss[0]),
            "final_loss": float(loss[-1]),
            "min_loss": float(np.nanmin(loss)),
            "final_terms": {k: float(v[-1]) for k, v in self.terms.items()},
            "function_evaluations": int(self.evals[-1]) if self.evals else 0,
        }
