"""Loggers: callbacks that write one record per check point (``po.CSVLogger``,
``po.TensorBoardLogger``).

A logger reads only what is already on the host: the history row of the last check point
(:meth:`~pinnopt.losses.hooks.TrainingView.recorded_row`) and the trainable scalars,
so it adds no synchronization between check points. One logger may watch several runs in
turn (the windows of a time-march): steps and times then continue from run to run, as in
``MarchResult.history``. Under data-parallel training only rank 0 writes.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..losses.hooks import TrainingView
from .callbacks import Callback


def _main_rank() -> bool:
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized() and dist.get_rank() != 0)


def summary_writer() -> Any:
    """TensorBoard's ``SummaryWriter`` class.

    Raises:
        ConfigError: tensorboard is not installed (naming the extra that installs it).
    """
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ConfigError(
            f"TensorBoardLogger needs the tensorboard package: pip install pinnopt[tensorboard] ({exc})"
        ) from None
    return SummaryWriter


class _CheckPointLogger(Callback):
    """Calls :meth:`write` once per new check point row, with steps continued across runs."""

    def __init__(self) -> None:
        self._rows_seen = 0
        self._last_step = self._last_raw = 0
        self._step0 = 0
        self._time0 = 0.0
        self._last_time = 0.0

    def _record(self, view: TrainingView) -> dict[str, Any] | None:
        if view.checked_rows == self._rows_seen:  # no check point since the last record
            return None
        self._rows_seen = view.checked_rows
        row = view.recorded_row(view.checked_rows - 1)
        if row is None:
            return None
        if row["step"] <= self._last_raw:  # a new run (the next time window): continue its steps
            self._step0, self._time0 = self._last_step, self._last_time
        self._last_raw = row["step"]
        step = self._step0 + row["step"]
        phase = view.phases[row["phase"]].name if row["phase"] < len(view.phases) else ""
        record = {
            "step": step,
            "phase": phase,
            "loss": row["loss"],
            **{f"term/{n}": v for n, v in row["terms"].items()},
            "lr": row["lr"],
            "time": self._time0 + row["time"],
            **{f"param/{n}": float(v) for n, v in view.scalars().items()},
        }
        self._last_step, self._last_time = step, record["time"]
        return record

    def _check(self, view: TrainingView) -> None:
        if not _main_rank():
            return
        record = self._record(view)
        if record is not None:
            self.write(record)

    def write(self, record: dict[str, Any]) -> None:  # pragma: no cover - overridden
        """Write one check point's record (step, phase, loss, terms, lr, time, parameters)."""
        raise NotImplementedError

    def on_step_end(self, view: TrainingView, step: int) -> None:
        self._check(view)

    def on_phase_end(self, view: TrainingView, phase: int, outcome: Any) -> None:
        self._check(view)

    def on_train_end(self, view: TrainingView, outcome: Any) -> None:
        self._check(view)
        self._rows_seen = 0  # the next run (time window) counts its rows afresh
        self.flush()

    def flush(self) -> None:
        """Make what was written so far readable by others."""


def _path(value: Any, what: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"{what}={value!r}: expected a path (str or os.PathLike)")
    return Path(value)


class CSVLogger(_CheckPointLogger):
    """Write one CSV row per check point: ``step, phase, loss, term/<name>..., lr, time,
    param/<name>...`` (``time``: seconds since the run started; ``param``: the trainable
    scalars of an inverse problem).

    Args:
        path: the CSV file (created with its folder; an existing file is replaced).

    Example: ``po.solve(problem, callbacks=[po.CSVLogger("runs/loss.csv")])``. When a later
    run adds a column (a time window with other terms), the file is written again with the
    wider header; a row without a value leaves the cell empty.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = _path(path, "CSVLogger(path)")
        self._columns: list[str] = []
        self._rows: list[dict[str, Any]] = []
        self._started = False

    def __repr__(self) -> str:
        return f"CSVLogger({str(self.path)!r})"

    def write(self, record: dict[str, Any]) -> None:
        """Append the record as a row (the header grows when new columns appear)."""
        self._rows.append(record)
        new = [k for k in record if k not in self._columns]
        try:
            if not self._started or new:
                self._columns += new
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "w", newline="") as fh:
                    w = csv.DictWriter(fh, self._columns, restval="")
                    w.writeheader()
                    w.writerows(self._rows)
                self._started = True
            else:
                with open(self.path, "a", newline="") as fh:
                    csv.DictWriter(fh, self._columns, restval="").writerow(record)
        except OSError as exc:
            raise ConfigError(f"CSVLogger: cannot write {self.path} ({exc.strerror or exc})") from exc


class TensorBoardLogger(_CheckPointLogger):
    """Write the losses, per-term losses, learning rate and trainable scalars at every check
    point as TensorBoard scalars (``loss``, ``term/<name>``, ``lr``, ``param/<name>``, by step).

    Args:
        logdir: the TensorBoard log folder (``tensorboard --logdir DIR``).

    Needs the ``tensorboard`` package: ``pip install pinnopt[tensorboard]``.

    Raises:
        ConfigError: tensorboard is not installed (naming the extra).
    """

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        super().__init__()
        self.logdir = _path(logdir, "TensorBoardLogger(logdir)")
        self._writer_class = summary_writer()
        self._writer: Any = None

    def __repr__(self) -> str:
        return f"TensorBoardLogger({str(self.logdir)!r})"

    def write(self, record: dict[str, Any]) -> None:
        """Add the record's numbers as scalars at its step."""
        if self._writer is None:
            self._writer = self._writer_class(log_dir=str(self.logdir))
        step = int(record["step"])
        for key, value in record.items():
            if key in ("step", "phase", "time") or not isinstance(value, float) or not math.isfinite(value):
                continue
            self._writer.add_scalar(key, value, step, walltime=None)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Close the event file (what was written is flushed at the end of every run)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
