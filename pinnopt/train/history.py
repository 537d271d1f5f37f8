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

    Training strategies add *series*: named vectors recorded at the steps where they change
    (loss weights per term, causal slab weights...), with :meth:`record_series`; read them
    with :meth:`series` or as ``"<name>/step"`` and ``"<name>/<label>"`` in :meth:`as_arrays`.
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
        self._series: dict[str, _Series] = {}

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

    def record_series(self, name: str, step: int, values: torch.Tensor, labels: Sequence[str]) -> None:
        """Buffer the vector ``values`` of series ``name`` at ``step`` (no host synchronization).

        ``labels`` name the entries; they must stay the same for every record of a series.
        """
        ser = self._series.get(name)
        if ser is None:
            ser = self._series[name] = _Series(tuple(labels))
        elif ser.labels != tuple(labels):
            raise ValueError(f"series {name!r} was recorded with labels {ser.labels}, now {tuple(labels)}")
        ser.pending.append((int(step), values.detach().reshape(-1).clone()))

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of series ``name``: shapes ``(k,)`` and ``(k, len(labels))``."""
        if name not in self._series:
            raise KeyError(f"no series {name!r} was recorded; recorded: {sorted(self._series)}")
        ser = self._series[name]
        ser.flush()
        return np.asarray(ser.steps, dtype=np.int64), ser.array()

    def series_labels(self, name: str) -> tuple[str, ...]:
        """The entry names of series ``name``."""
        return self._series[name].labels

    @property
    def series_names(self) -> tuple[str, ...]:
        """Names of the recorded series."""
        return tuple(self._series)

    def flush(self) -> np.ndarray | None:
        """Copy buffered rows to the host; return them (``(k, 1 + n_terms)``) or None."""
        for ser in self._series.values():
            ser.flush()
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
        for ser in self._series.values():
            ser.pending.clear()

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` flushed rows."""
        rows = self._all()[:n]
        self._losses = [rows]
        last = self.step[n - 1] if n > 0 and n <= len(self.step) else 0
        for lst in (self.step, self.phase, self.lr, self.time, self.evals, self.epoch):
            del lst[n:]
        for ser in self._series.values():
            ser.flush()
            ser.keep_until(last)

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
        for name in self._series:
            steps, values = self.series(name)
            out[f"{name}/step"] = steps
            for j, label in enumerate(self._series[name].labels):
                out[f"{name}/{label}"] = values[:, j].copy()
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
            "series": {name: ser.state_dict() for name, ser in self._series.items()},
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
        self._series = {name: _Series.from_state(st) for name, st in state.get("series", {}).items()}

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


class _Series:
    """One named series: labels, flushed steps and rows, and rows still on the device."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.steps: list[int] = []
        self.rows: list[np.ndarray] = []
        self.pending: list[tuple[int, torch.Tensor]] = []

    def flush(self) -> None:
        if not self.pending:
            return
        values = torch.stack([v for _, v in self.pending]).to("cpu", torch.float64).numpy()
        self.steps.extend(s for s, _ in self.pending)
        self.rows.extend(values)
        self.pending.clear()

    def array(self) -> np.ndarray:
        if not self.rows:
            return np.zeros((0, len(self.labels)))
        return np.stack(self.rows)

    def keep_until(self, step: int) -> None:
        keep = [i for i, s in enumerate(self.steps) if s <= step]
        self.steps = [self.steps[i] for i in keep]
        self.rows = [self.rows[i] for i in keep]

    def state_dict(self) -> dict[str, Any]:
        self.flush()
        return {
            "labels": list(self.labels),
            "step": torch.tensor(self.steps, dtype=torch.int64),
            "values": torch.from_numpy(np.ascontiguousarray(self.array())),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> _Series:
        ser = cls(tuple(state["labels"]))
        ser.steps = [int(v) for v in state["step"].tolist()]
        ser.rows = list(state["values"].to(torch.float64).numpy().copy())
        return ser
