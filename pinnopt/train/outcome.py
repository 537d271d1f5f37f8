"""What training produced: per-phase and per-run outcomes, and internal stop signals."""

from __future__ import annotations

from dataclasses import dataclass, field

from .history import History
from .stop import StopReason


@dataclass(frozen=True)
class PhaseOutcome:
    """How one phase ended."""

    name: str
    steps: int
    evaluations: int
    reason: StopReason
    wall_time_s: float
    detail: str = ""


@dataclass
class TrainOutcome:
    """What a training run produced besides the trained model."""

    history: History
    reason: StopReason
    phases: list[PhaseOutcome] = field(default_factory=list)
    steps: int = 0
    evaluations: int = 0
    wall_time_s: float = 0.0
    stop_detail: str = ""
    epochs: int = 0
    retries: int = 0


@dataclass(frozen=True)
class Signal:
    """A stop decided during a phase: ``run`` ends training, otherwise only the phase ends."""

    reason: StopReason
    run: bool
    detail: str = ""
